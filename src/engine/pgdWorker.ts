/**
 * A PGD worker thread: its own backend and its own copy of the model; attacks one contiguous
 * range of the attack plan and sends back the images. Started by attackPool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendChoice } from './backend';
import { modelFromArtifacts } from './modelIo';
import { attackRange, type AttackPlan } from './attack';
import type { AttackOptions } from './options';
import type * as tfTypes from '@tensorflow/tfjs';

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

export type PgdWorkerMessage =
  | { kind: 'step'; step: number; steps: number; chunk: number; chunks: number }
  | { kind: 'done'; images: Float32Array; predicted: Int32Array }
  | { kind: 'error'; message: string };

async function main(): Promise<void> {
  const input = workerData as PgdWorkerInput;
  await initBackend({ choice: input.backend, searchPaths: input.searchPaths });
  const model = await modelFromArtifacts(input.artifacts);
  const result = await attackRange(model, input, input.plan, input.begin, input.end, input.options, undefined, (p) =>
    parentPort!.postMessage({ kind: 'step', ...p } satisfies PgdWorkerMessage),
  );
  parentPort!.postMessage({ kind: 'done', ...result } satisfies PgdWorkerMessage, [result.images.buffer as ArrayBuffer, result.predicted.buffer as ArrayBuffer]);
}

main().catch((e: unknown) => parentPort!.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) } satisfies PgdWorkerMessage));
