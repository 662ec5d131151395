/**
 * The methods of an experiment in parallel: each runs in a worker thread (pgdWorker.ts) with its
 * own backend and model copy, from the same pre-trained weights, forget set, adversarial set and
 * seed, so every result is the one a sequential run gives. Methods with adversarial examples go
 * first (they take longest). Cancelling terminates the threads at once.
 */
import { Worker } from 'node:worker_threads';
import { activeBackend } from './backend';
import { workerEntry } from './attackPool';
import { CancelledError, throwIfAborted } from '../../contracts/errors';
import type { MethodTaskInput, MethodTaskResult } from '../jobs/methodTask';
import type { MethodWorkerInput, MethodWorkerMessage } from './pgdWorker';
import type { UnlearnProgress } from '../core/unlearn';

/** Runs `tasks` on up to `concurrency` threads; `onDone` sees each result as it finishes; resolves in task order. */
export async function runMethodTasks(
  tasks: MethodTaskInput[],
  concurrency: number,
  order: number[],
  signal?: AbortSignal,
  onProgress?: (index: number, p: UnlearnProgress | { phase: 'evaluate' }) => void,
  onDone?: (index: number, outcome: MethodTaskResult) => void,
): Promise<MethodTaskResult[]> {
  const backend = activeBackend();
  if (!backend) throw new Error('No backend is initialised.');
  const entry = workerEntry();
  const results = new Array<MethodTaskResult>(tasks.length);
  const threads = new Set<Worker>();
  const queue = [...order];
  const onAbort = () => threads.forEach((t) => void t.terminate());
  signal?.addEventListener('abort', onAbort, { once: true });
  const runOne = (index: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const data: MethodWorkerInput = { backend: backend.choice, searchPaths: backend.searchPaths, method: tasks[index] };
      const thread = new Worker(entry.file, { workerData: data, eval: entry.eval });
      threads.add(thread);
      let settled = false;
      thread.on('message', (m: MethodWorkerMessage) => {
        if (m.kind === 'progress') onProgress?.(index, m.progress);
        else if (m.kind === 'done') {
          settled = true;
          results[index] = m.outcome;
          void thread.terminate();
          onDone?.(index, m.outcome);
          resolve();
        } else {
          settled = true;
          reject(new Error(m.message));
        }
      });
      thread.on('error', (e) => {
        settled = true;
        reject(e);
      });
      thread.on('exit', (code) => {
        threads.delete(thread);
        if (!settled) reject(signal?.aborted ? new CancelledError() : new Error(`A method worker exited with code ${code}.`));
      });
    });
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, async () => {
        for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
          throwIfAborted(signal);
          await runOne(index);
        }
      }),
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all([...threads].map((t) => t.terminate()));
  }
  throwIfAborted(signal);
  return results;
}
