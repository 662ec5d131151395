/**
 * The methods of an experiment in parallel on the warm pool's threads (workerPool.ts): each runs
 * with its own model copy, from the same pre-trained weights, forget set, adversarial set and
 * seed, so every result is the one a sequential run gives. Methods with adversarial examples go
 * first (they take longest). Cancelling terminates the threads at once.
 */
import { activeBackend } from './backend';
import { computePool } from './workerPool';
import { throwIfAborted } from '../../contracts/errors';
import type { MethodTaskInput, MethodTaskResult } from '../jobs/methodTask';
import type { MethodTask, MethodWorkerMessage } from './pgdWorker';
import type { UnlearnProgress } from '../../contracts/protocol';

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
  const pool = computePool(backend.choice, backend.searchPaths);
  const results = new Array<MethodTaskResult>(tasks.length);
  const queue = [...order];
  // The first failure stops the other methods (their threads are terminated) and is reported.
  const inner = new AbortController();
  const forward = () => inner.abort();
  signal?.addEventListener('abort', forward, { once: true });
  const runOne = async (index: number): Promise<void> => {
    const task: MethodTask = { kind: 'method', method: tasks[index] };
    const onMessage = (m: MethodWorkerMessage) => {
      if (m.kind === 'progress') onProgress?.(index, m.progress);
    };
    let done: MethodWorkerMessage;
    try {
      done = await pool.run<MethodWorkerMessage>(task, onMessage, inner.signal);
    } catch (e) {
      inner.abort();
      throw e;
    }
    if (done.kind !== 'done') throw new Error('A method worker sent no result.');
    results[index] = done.outcome;
    onDone?.(index, done.outcome);
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, async () => {
        for (let index = queue.shift(); index !== undefined && !inner.signal.aborted; index = queue.shift()) await runOne(index);
      }),
    );
  } finally {
    signal?.removeEventListener('abort', forward);
  }
  throwIfAborted(signal);
  return results;
}
