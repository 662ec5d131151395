/**
 * The host side of the engine worker: started on first use, typed requests with ids, progress
 * callbacks, cancel, and errors rebuilt from their payload (UserInputError keeps its file).
 */
import { Worker } from 'node:worker_threads';
import type * as vscode from 'vscode';
import type { EngineErrorPayload, EngineProgress, EngineRequest, EngineResults, HostToWorker, WorkerToHost } from '../shared/protocol';

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
}

export interface EngineCall<K extends EngineRequest['kind']> {
  id: number;
  result: Promise<EngineResults[K]>;
  cancel(): void;
}

export class EngineClient implements vscode.Disposable {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly workerScript: string,
    private readonly log: (line: string) => void,
  ) {}

  get started(): boolean {
    return this.worker !== undefined;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    this.log(`starting engine worker ${this.workerScript}`);
    const worker = new Worker(this.workerScript);
    worker.on('message', (m: WorkerToHost) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error(`The engine worker stopped (exit code ${code}).`));
    });
    this.worker = worker;
    return worker;
  }

  private onMessage(m: WorkerToHost): void {
    const pending = this.pending.get(m.id);
    if (!pending) return;
    if (m.type === 'progress') {
      pending.onProgress?.(m.progress);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'result') pending.resolve(m.result);
    else pending.reject(new EngineError(m.error));
  }

  private failAll(error: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(error);
    }
  }

  call<R extends EngineRequest>(request: R, onProgress?: (p: EngineProgress) => void): EngineCall<R['kind']> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const result = new Promise<EngineResults[R['kind']]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
    });
    worker.postMessage({ type: 'request', id, request } satisfies HostToWorker);
    return {
      id,
      result,
      cancel: () => {
        if (this.pending.has(id)) this.worker?.postMessage({ type: 'cancel', id } satisfies HostToWorker);
      },
    };
  }

  dispose(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('The engine was shut down.'));
    void worker?.terminate();
  }
}
