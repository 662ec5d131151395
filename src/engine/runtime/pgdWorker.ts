/**
 * A compute worker thread of the warm pool (workerPool.ts): it starts its backend once, then runs
 * the tasks it is sent one after another, each on its own copy of the model, disposed afterwards.
 * A task either attacks one contiguous range of the attack plan and sends back the images
 * (attackPool.ts), or runs one method of an experiment and sends back its result (methodPool.ts).
 * Every message back carries the task's id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './backend';
import { modelFromArtifacts } from '../data/modelIo';
import { attackRange, type AttackPlan } from '../core/attack';
import type { AttackOptions } from '../../contracts/options';
import type * as tfTypes from '@tensorflow/tfjs';
import { runMethodTask, type MethodTaskInput, type MethodTaskResult } from '../jobs/methodTask';
import type { UnlearnProgress } from '../../contracts/protocol';
import type { PoolTaskMessage, PoolWorkerData } from './workerPool';

export interface PgdTask {
  kind: 'pgd';
  artifacts: tfTypes.io.ModelArtifacts;
  images: Float32Array;
  imageShape: [number, number, number];
  plan: AttackPlan;
  begin: number;
  end: number;
  options: AttackOptions;
}

export interface MethodTask {
  kind: 'method';
  method: MethodTaskInput;
}

export type ComputeTask = PgdTask | MethodTask;

export type MethodWorkerMessage = { id: number } & (
  { kind: 'progress'; progress: UnlearnProgress | { phase: 'evaluate' } } | { kind: 'done'; outcome: MethodTaskResult } | { kind: 'error'; message: string }
);

export type PgdWorkerMessage = { id: number } & (
  | { kind: 'step'; step: number; steps: number; chunk: number; chunks: number }
  | { kind: 'done'; images: Float32Array; predicted: Int32Array }
  | { kind: 'error'; message: string }
);

const port = parentPort;
if (!port) throw new Error('pgd-worker.js must run as a worker thread.');
const data = workerData as PoolWorkerData;
// Started once; a failure is reported by every task.
const ready = initBackend({ choice: data.backend, searchPaths: data.searchPaths });
ready.catch(() => undefined);

async function runTask(id: number, task: ComputeTask): Promise<void> {
  await ready;
  if (task.kind === 'method') {
    const outcome = await runMethodTask(task.method, undefined, (progress) =>
      port!.postMessage({ id, kind: 'progress', progress } satisfies MethodWorkerMessage),
    );
    port!.postMessage({ id, kind: 'done', outcome } satisfies MethodWorkerMessage);
    return;
  }
  const model = await modelFromArtifacts(task.artifacts);
  try {
    const result = await attackRange(model, task, task.plan, task.begin, task.end, task.options, undefined, (p) =>
      port!.postMessage({ id, kind: 'step', ...p } satisfies PgdWorkerMessage),
    );
    port!.postMessage({ id, kind: 'done', ...result } satisfies PgdWorkerMessage, [
      result.images.buffer as ArrayBuffer,
      result.predicted.buffer as ArrayBuffer,
    ]);
  } finally {
    model.dispose();
  }
}

port.on('message', (m: PoolTaskMessage<ComputeTask>) => {
  runTask(m.id, m.task).catch((e: unknown) => port.postMessage({ id: m.id, kind: 'error', message: e instanceof Error ? e.message : String(e) }));
});
