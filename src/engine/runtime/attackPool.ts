/**
 * PGD across worker threads of the warm pool (workerPool.ts). The attack plan (targets, starts)
 * is drawn once, here; each thread attacks a contiguous range with its own copy of the model, so
 * the adversarial set is the same as one thread's at the same seed. Cancelling terminates the
 * threads at once (the pool starts fresh ones for the next request).
 */
import * as os from 'node:os';
import type * as tfTypes from '@tensorflow/tfjs';
import { planAttack, targetedL2Pgd, type AdversarialSet, type AttackInput } from '../core/attack';
import type { AttackProgress } from '../../contracts/protocol';
import type { AttackOptions } from '../../contracts/options';
import type { Rng } from '../core/rng';
import { captureArtifacts } from '../data/modelIo';
import { activeBackend } from './backend';
import { CancelledError, throwIfAborted } from '../../contracts/errors';
import type { PgdTask, PgdWorkerMessage } from './pgdWorker';
import { computePool } from './workerPool';

/** 'auto' = one worker per core the process may use, at most 8. */
export function resolveWorkers(workers: number | 'auto'): number {
  return workers === 'auto' ? Math.max(1, Math.min(8, os.availableParallelism())) : workers;
}

export async function parallelTargetedL2Pgd(
  model: tfTypes.LayersModel,
  input: AttackInput,
  options: AttackOptions,
  rng: Rng,
  workers: number | 'auto',
  signal?: AbortSignal,
  onProgress?: (p: AttackProgress) => void,
): Promise<AdversarialSet> {
  const backend = activeBackend();
  const wanted = resolveWorkers(workers);
  if (wanted <= 1 || !backend) return targetedL2Pgd(model, input, options, rng, signal, onProgress);
  const plan = planAttack(input, options, rng);
  const count = plan.targets.length;
  const n = Math.min(wanted, count);
  const artifacts = await captureArtifacts(model);
  throwIfAborted(signal);
  const size = input.imageShape[0] * input.imageShape[1] * input.imageShape[2];
  const images = new Float32Array(count * size);
  const predicted = new Int32Array(count);
  const pool = computePool(backend.choice, backend.searchPaths);
  const stepsDone = new Array<number>(n).fill(0);
  const chunksPerWorker = Math.ceil(Math.ceil(count / n) / options.chunkSize);
  // The first failure stops the other ranges (their threads are terminated) and is reported.
  const inner = new AbortController();
  const forward = () => inner.abort();
  signal?.addEventListener('abort', forward, { once: true });
  try {
    await Promise.all(
      Array.from({ length: n }, async (_, w) => {
        const begin = Math.floor((w * count) / n);
        const end = Math.floor(((w + 1) * count) / n);
        const task: PgdTask = { kind: 'pgd', artifacts, images: input.images, imageShape: input.imageShape, plan, begin, end, options };
        const onStep = (m: PgdWorkerMessage) => {
          if (m.kind !== 'step') return;
          stepsDone[w] = (m.chunk - 1) * m.steps + m.step;
          const slowest = Math.min(...stepsDone);
          onProgress?.({
            step: slowest % options.steps || (slowest ? options.steps : 0),
            steps: options.steps,
            chunk: Math.min(chunksPerWorker, Math.floor(slowest / options.steps) + 1),
            chunks: chunksPerWorker,
          });
        };
        let done: PgdWorkerMessage;
        try {
          done = await pool.run<PgdWorkerMessage>(task, onStep, inner.signal);
        } catch (e) {
          inner.abort();
          throw e instanceof CancelledError || !(e instanceof Error) ? e : new Error(`PGD worker ${w + 1}/${n}: ${e.message}`);
        }
        if (done.kind !== 'done') throw new Error(`PGD worker ${w + 1}/${n} sent no images.`);
        images.set(done.images, begin * size);
        predicted.set(done.predicted, begin);
      }),
    );
  } finally {
    signal?.removeEventListener('abort', forward);
  }
  throwIfAborted(signal);
  return { images, targets: plan.targets, sources: plan.sources, predicted };
}
