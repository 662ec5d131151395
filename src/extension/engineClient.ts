/**
 * The host side of the engine worker: started on first use, typed requests with ids, progress
 * callbacks, cancel, and errors rebuilt from their payload (UserInputError keeps its file).
 */
import { Worker } from 'node:worker_threads';
import type * as vscode from 'vscode';
import type {
  BackendInfo,
  EngineErrorPayload,
  EngineProgress,
  EngineRequest,
  EngineResults,
  GuardAnswer,
  GuardTrip,
  HostToWorker,
  WorkerToHost,
} from '../contracts/protocol';

export class EngineError extends Error {
  readonly file?: string;
  constructor(payload: EngineErrorPayload) {
    super(payload.message);
    this.name = payload.name;
    this.file = payload.file;
    if (payload.stack) this.stack = payload.stack;
  }
  get cancelled(): boolean {
    return this.name === 'CancelledError';
  }
  get userFacing(): boolean {
    return this.name === 'UserInputError' || this.name === 'RangeError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onProgress?: (p: EngineProgress) => void;
  /** Answers a tripped guard's question (guard action `ask`); none: `stop`. */
  onQuestion?: (trip: GuardTrip) => Promise<GuardAnswer>;
  /** The worker that runs it. */
  worker: Worker;
  request: EngineRequest;
  /** The last phase reported: a run that is saving is never stopped hard (it would leave a temp folder). */
  phase?: EngineProgress['phase'];
}

/**
 * How long a cancelled request may take to stop by itself. The engine checks its AbortSignal
 * between steps, but some phases (loading, evaluating large sets) run longer between checks; after
 * this the worker is terminated and a fresh one starts on the next request. Nothing is lost: a run
 * writes its files only in its last phase, and that phase is allowed to finish.
 */
export const CANCEL_GRACE_MS = 2000;

export interface EngineCall<K extends EngineRequest['kind']> {
  id: number;
  result: Promise<EngineResults[K]>;
  cancel(): void;
}

export class EngineClient implements vscode.Disposable {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The backend the worker runs on, once a request has started it (a worker starts it once). */
  private backendInfo: BackendInfo | undefined;
  private askingBackend: Worker | undefined;
  /** Told the backend as soon as the worker has started it (the first run's load phase). */
  onBackend: ((info: BackendInfo) => void) | undefined;

  constructor(
    private readonly workerScript: string,
    private readonly log: (line: string) => void,
  ) {}

  get started(): boolean {
    return this.worker !== undefined;
  }

  get backend(): BackendInfo | undefined {
    return this.backendInfo;
  }

  /** A run reached its load phase, so the worker's backend is up: ask which it is (answered at once). */
  private learnBackend(request: EngineRequest, worker: Worker): void {
    if (this.backendInfo || this.askingBackend === worker || request.kind === 'checkManifest' || request.kind === 'backend') return;
    this.askingBackend = worker;
    const done = () => {
      if (this.askingBackend === worker) this.askingBackend = undefined;
    };
    this.call({ kind: 'backend', backend: request.backend }).result.then((info) => {
      done();
      if (this.worker !== worker) return;
      this.backendInfo = info;
      this.onBackend?.(info);
    }, done);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    this.log(`starting engine worker ${this.workerScript}`);
    const worker = new Worker(this.workerScript);
    worker.on('message', (m: WorkerToHost) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(e, worker));
    worker.on('exit', (code) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.backendInfo = undefined;
      }
      this.failAll(new Error(`The engine worker stopped (exit code ${code}).`), worker);
    });
    this.worker = worker;
    return worker;
  }

  /** Set when the worker is to be replaced as soon as its requests have finished (a changed backend setting). */
  private retireWhenIdle = false;

  /**
   * The backend setting changed: a worker starts its backend once, so it is replaced by a fresh one
   * (started on the next request) — at once when idle, else when its running requests finish (they
   * keep the backend they started on).
   */
  restart(): void {
    if (!this.worker) return;
    if (this.pending.size === 0) this.retire();
    else this.retireWhenIdle = true;
  }

  private retire(): void {
    const worker = this.worker;
    this.retireWhenIdle = false;
    if (!worker) return;
    this.log('the backend setting changed: the engine worker restarts on the next request');
    this.worker = undefined;
    this.backendInfo = undefined;
    void worker.terminate();
  }

  private onMessage(m: WorkerToHost): void {
    const pending = this.pending.get(m.id);
    if (!pending) return;
    if (m.type === 'progress') {
      if (m.progress.phase === 'load' || m.progress.phase === 'experiment') this.learnBackend(pending.request, pending.worker);
      pending.phase = m.progress.phase;
      pending.onProgress?.(m.progress);
      return;
    }
    if (m.type === 'question') {
      const answer = pending.onQuestion ? pending.onQuestion(m.trip).catch(() => 'stop' as const) : Promise.resolve('stop' as const);
      void answer.then((a) => {
        if (this.pending.has(m.id)) pending.worker.postMessage({ type: 'answer', id: m.id, answer: a } satisfies HostToWorker);
      });
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'result') pending.resolve(m.result);
    else pending.reject(new EngineError(m.error));
    if (this.retireWhenIdle && this.pending.size === 0 && this.worker === pending.worker) this.retire();
  }

  /** Rejects every request sent to `worker` (all requests when omitted). */
  private failAll(error: Error, worker?: Worker): void {
    for (const [id, p] of this.pending) {
      if (worker && p.worker !== worker) continue;
      this.pending.delete(id);
      p.reject(error);
    }
  }

  call<R extends EngineRequest>(
    request: R,
    onProgress?: (p: EngineProgress) => void,
    onQuestion?: (trip: GuardTrip) => Promise<GuardAnswer>,
  ): EngineCall<R['kind']> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const result = new Promise<EngineResults[R['kind']]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress, onQuestion, worker, request });
    });
    worker.postMessage({ type: 'request', id, request } satisfies HostToWorker);
    return {
      id,
      result,
      cancel: () => {
        if (!this.pending.has(id)) return;
        this.worker?.postMessage({ type: 'cancel', id } satisfies HostToWorker);
        const timer = setTimeout(() => this.stopHard(id, worker), CANCEL_GRACE_MS);
        void result.catch(() => undefined).finally(() => clearTimeout(timer));
      },
    };
  }

  private stopHard(id: number, worker: Worker): void {
    const pending = this.pending.get(id);
    if (!pending || this.worker !== worker) return;
    if (pending.phase === 'save') {
      // Let the save finish; it is short, and stopping it would leave a temporary folder behind.
      setTimeout(() => this.stopHard(id, worker), CANCEL_GRACE_MS);
      return;
    }
    this.log(`request ${id} did not stop within ${CANCEL_GRACE_MS} ms of Cancel: terminating the engine worker`);
    this.pending.delete(id);
    pending.reject(new EngineError({ name: 'CancelledError', message: 'The run was stopped; nothing was written.' }));
    this.worker = undefined;
    this.backendInfo = undefined;
    this.failAll(new Error('The engine worker was restarted after a cancelled run.'), worker);
    void worker.terminate();
  }

  dispose(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('The engine was shut down.'));
    void worker?.terminate();
  }
}
