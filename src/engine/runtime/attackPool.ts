/**
 * PGD across worker threads. The attack plan (targets, starts) is drawn once, here; each worker
 * attacks a contiguous range with its own copy of the model, so the adversarial set is the same
 * as one thread's at the same seed. Cancelling terminates the workers at once.
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as tfTypes from '@tensorflow/tfjs';
import { planAttack, targetedL2Pgd, type AdversarialSet, type AttackInput, type AttackProgress } from '../core/attack';
import type { AttackOptions } from '../../contracts/options';
import type { Rng } from '../core/rng';
import { captureArtifacts } from '../data/modelIo';
import { activeBackend } from './backend';
import { CancelledError, throwIfAborted } from '../../contracts/errors';
import type { PgdWorkerInput, PgdWorkerMessage } from './pgdWorker';

/** The compute worker's entry: the bundled dist/pgd-worker.js, or the TypeScript source through tsx (tests). */
export function workerEntry(): { file: string; eval: boolean } {
  const bundled = path.join(__dirname, 'pgd-worker.js');
  if (fs.existsSync(bundled)) return { file: bundled, eval: false };
  return { file: `require('tsx/cjs'); require(${JSON.stringify(path.join(__dirname, 'pgdWorker.ts'))});`, eval: true };
}

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
  const entry = workerEntry();
  const threads: Worker[] = [];
  const stepsDone = new Array<number>(n).fill(0);
  const chunksPerWorker = Math.ceil(Math.ceil(count / n) / options.chunkSize);
  const onAbort = () => threads.forEach((t) => void t.terminate());
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      Array.from({ length: n }, (_, w) => {
        const begin = Math.floor((w * count) / n);
        const end = Math.floor(((w + 1) * count) / n);
        const data: PgdWorkerInput = { backend: backend.choice, searchPaths: backend.searchPaths, artifacts, images: input.images, imageShape: input.imageShape, plan, begin, end, options };
        const thread = new Worker(entry.file, { workerData: data, eval: entry.eval });
        threads.push(thread);
        return new Promise<void>((resolve, reject) => {
          thread.on('message', (m: PgdWorkerMessage) => {
            if (m.kind === 'step') {
              stepsDone[w] = (m.chunk - 1) * m.steps + m.step;
              const slowest = Math.min(...stepsDone);
              onProgress?.({ step: (slowest % options.steps) || (slowest ? options.steps : 0), steps: options.steps, chunk: Math.min(chunksPerWorker, Math.floor(slowest / options.steps) + 1), chunks: chunksPerWorker });
            } else if (m.kind === 'done') {
              images.set(m.images, begin * size);
              predicted.set(m.predicted, begin);
              resolve();
            } else {
              reject(new Error(`PGD worker ${w + 1}/${n}: ${m.message}`));
            }
          });
          thread.on('error', reject);
          thread.on('exit', (code) => (signal?.aborted ? reject(new CancelledError()) : code !== 0 ? reject(new Error(`PGD worker ${w + 1}/${n} exited with code ${code}`)) : undefined));
        });
      }),
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(threads.map((t) => t.terminate()));
  }
  throwIfAborted(signal);
  return { images, targets: plan.targets, sources: plan.sources, predicted };
}
