/**
 * A compute worker thread: its own backend and its own copy of the model. Either attacks one
 * contiguous range of the attack plan and sends back the images (attackPool.ts), or runs one
 * method of an experiment and sends back its result (methodPool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendChoice } from './backend';
import { modelFromArtifacts } from '../data/modelIo';
import { attackRange, type AttackPlan } from '../core/attack';
import type { AttackOptions } from '../../contracts/options';
import type * as tfTypes from '@tensorflow/tfjs';
import { runMethodTask, type MethodTaskInput, type MethodTaskResult } from '../jobs/methodTask';
import type { UnlearnProgress } from '../core/unlearn';

export interface PgdWorkerInput {
  backend: BackendChoice;
  searchPaths: string[];
  artifacts: tfTypes.io.ModelArtifacts;
  images: Float32Array;
  imageShape: [number, number, number];
  plan: AttackPlan;
  begin: number;
  end: number;
  options: AttackOptions;
}

export interface MethodWorkerInput {
  backend: BackendChoice;
  searchPaths: string[];
  method: MethodTaskInput;
}

export type MethodWorkerMessage =
  | { kind: 'progress'; progress: UnlearnProgress | { phase: 'evaluate' } }
  | { kind: 'done'; outcome: MethodTaskResult }
  | { kind: 'error'; message: string };

export type PgdWorkerMessage =
  | { kind: 'step'; step: number; steps: number; chunk: number; chunks: number }
  | { kind: 'done'; images: Float32Array; predicted: Int32Array }
  | { kind: 'error'; message: string };

async function main(): Promise<void> {
  if ((workerData as Partial<MethodWorkerInput>).method) {
    const task = workerData as MethodWorkerInput;
    await initBackend({ choice: task.backend, searchPaths: task.searchPaths });
    const outcome = await runMethodTask(task.method, undefined, (progress) => parentPort!.postMessage({ kind: 'progress', progress } satisfies MethodWorkerMessage));
    parentPort!.postMessage({ kind: 'done', outcome } satisfies MethodWorkerMessage);
    return;
  }
  const input = workerData as PgdWorkerInput;
  await initBackend({ choice: input.backend, searchPaths: input.searchPaths });
  const model = await modelFromArtifacts(input.artifacts);
  const result = await attackRange(model, input, input.plan, input.begin, input.end, input.options, undefined, (p) =>
    parentPort!.postMessage({ kind: 'step', ...p } satisfies PgdWorkerMessage),
  );
  parentPort!.postMessage({ kind: 'done', ...result } satisfies PgdWorkerMessage, [result.images.buffer as ArrayBuffer, result.predicted.buffer as ArrayBuffer]);
}

main().catch((e: unknown) => parentPort!.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) } satisfies PgdWorkerMessage));
