/**
 * One warm pool of compute worker threads per process (per backend), shared by PGD
 * (attackPool.ts) and experiment methods (methodPool.ts). A thread starts its backend once and then
 * runs one task after another, each with its own copy of the model, so start-up (loading the
 * engine bundle, compiling the wasm backend) is paid once per process instead of once per task;
 * results are those of a fresh thread (tasks share no state but the backend).
 *
 * Idle threads are kept (unref'd: they never keep a process alive). A thread whose task is
 * cancelled, fails or exits is terminated and dropped; the next task starts a fresh one. The pool
 * grows to as many threads as tasks run at once; callers bound that (one per core by default).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, type TransferListItem } from 'node:worker_threads';
import { CancelledError } from '../../contracts/errors';
import type { BackendChoice } from '../../contracts/options';

/** The compute worker's entry: the bundled dist/pgd-worker.js, or the TypeScript source through tsx (tests). */
export function workerEntry(): { file: string; eval: boolean } {
  const bundled = path.join(__dirname, 'pgd-worker.js');
  if (fs.existsSync(bundled)) return { file: bundled, eval: false };
  return { file: `require('tsx/cjs'); require(${JSON.stringify(path.join(__dirname, 'pgdWorker.ts'))});`, eval: true };
}

/** What a pooled thread is started with: the backend to initialise, once. */
export interface PoolWorkerData {
  pool: true;
  backend: BackendChoice;
  searchPaths: string[];
}

/** A task sent to a pooled thread. */
export interface PoolTaskMessage<T = unknown> {
  id: number;
  task: T;
}

/** Every message a pooled thread sends back names its task; `done` or `error` ends it. */
export interface PoolReply {
  id: number;
  kind: string;
  message?: string;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** The running task's handlers. */
  onReply?: (reply: PoolReply) => void;
  onGone?: (error: Error) => void;
}

export class WorkerPool {
  private readonly slots = new Set<Slot>();
  private nextId = 1;
  private started = 0;

  constructor(
    readonly backend: BackendChoice,
    readonly searchPaths: string[],
  ) {}

  /** Threads started over the pool's life (for tests and the bench: warm tasks start none). */
  get threadsStarted(): number {
    return this.started;
  }

  /** Threads alive now, busy or idle. */
  get size(): number {
    return this.slots.size;
  }

  private spawn(): Slot {
    const entry = workerEntry();
    const workerData: PoolWorkerData = { pool: true, backend: this.backend, searchPaths: this.searchPaths };
    const worker = new Worker(entry.file, { workerData, eval: entry.eval });
    this.started++;
    const slot: Slot = { worker, busy: false };
    worker.on('message', (reply: PoolReply) => slot.onReply?.(reply));
    worker.on('error', (e) => this.drop(slot, e));
    worker.on('exit', (code) => this.drop(slot, new Error(`A compute worker thread exited with code ${code}.`)));
    this.slots.add(slot);
    return slot;
  }

  private drop(slot: Slot, error: Error): void {
    if (!this.slots.delete(slot)) return;
    const gone = slot.onGone;
    slot.onGone = slot.onReply = undefined;
    gone?.(error);
    void slot.worker.terminate();
  }

  /**
   * Runs one task on an idle thread (or a new one). `onReply` sees every message of the task;
   * resolves with the `done` message; rejects with the thread's `error` message, when the thread
   * dies, or with CancelledError when `signal` aborts (the thread is then terminated at once).
   */
  run<R extends PoolReply>(task: unknown, onReply?: (reply: R) => void, signal?: AbortSignal, transfer: TransferListItem[] = []): Promise<R> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const slot = [...this.slots].find((s) => !s.busy) ?? this.spawn();
    slot.busy = true;
    slot.worker.ref();
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => this.drop(slot, new CancelledError());
      const finish = () => {
        signal?.removeEventListener('abort', onAbort);
        slot.onReply = slot.onGone = undefined;
      };
      slot.onGone = (error) => {
        finish();
        reject(signal?.aborted ? new CancelledError() : error);
      };
      slot.onReply = (reply) => {
        if (reply.id !== id) return;
        if (reply.kind === 'done') {
          finish();
          slot.busy = false;
          slot.worker.unref();
          resolve(reply as R);
        } else if (reply.kind === 'error') {
          // The thread's state after a failed task is unknown: it is not reused.
          finish();
          this.drop(slot, new Error(reply.message ?? 'A compute task failed.'));
          reject(new Error(reply.message ?? 'A compute task failed.'));
        } else {
          onReply?.(reply as R);
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      slot.worker.postMessage({ id, task } satisfies PoolTaskMessage, transfer);
    });
  }

  /** Terminates every thread (busy ones reject their task). */
  async close(): Promise<void> {
    const all = [...this.slots];
    for (const s of all) this.drop(s, new CancelledError());
    await Promise.all(all.map((s) => s.worker.terminate()));
  }
}

let shared: WorkerPool | undefined;

/** The process's pool for this backend; a pool for another backend is closed first. */
export function computePool(backend: BackendChoice, searchPaths: string[]): WorkerPool {
  if (shared && (shared.backend !== backend || shared.searchPaths.join('\n') !== searchPaths.join('\n'))) {
    void shared.close();
    shared = undefined;
  }
  shared ??= new WorkerPool(backend, searchPaths);
  return shared;
}

/** Closes the process's pool (engine shutdown, tests). */
export async function closeComputePool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
