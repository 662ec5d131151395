/**
 * One run at a time; further requests wait in a queue. Each run shows a cancellable progress
 * notification whose Cancel (like the Cancel Run command) aborts the worker's run; progress
 * reads "PGD 40/100" during the attack and "step 12 — forget accuracy 25 %" while unlearning.
 */
import * as vscode from 'vscode';
import type { EngineProgress, EngineRequest, EngineResults, GuardAnswer, GuardTrip } from '../contracts/protocol';
import type { EngineClient, EngineCall } from './engineClient';
import { describeProgress, GUARD_CHOICES, guardQuestion } from '../shared/runSummary';
import { pct } from '../shared/percent';

interface QueuedRun {
  title: string;
  /** Built when the run starts, so that it sees what the runs before it produced. */
  request: () => Promise<EngineRequest>;
  /** Runs before the next queued run starts (e.g. make the new version the active one). */
  afterRun?: (result: unknown) => Promise<void>;
  /** Also told every progress event (a view of the run, such as the experiment's). */
  onProgress?: (p: EngineProgress) => void;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  cancelled: boolean;
}

export class RunQueue implements vscode.Disposable {
  private readonly queue: QueuedRun[] = [];
  private current: { run: QueuedRun; call?: EngineCall<EngineRequest['kind']> } | undefined;
  private readonly busyChanged = new vscode.EventEmitter<boolean>();
  readonly onDidChangeBusy = this.busyChanged.event;

  constructor(
    private readonly engine: EngineClient,
    private readonly log: (line: string) => void,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  get pending(): number {
    return this.queue.length;
  }

  /**
   * Runs the request after the runs before it; resolves with its result. A function is called
   * only when the run starts (a queued unlearn continues from the version the previous one made).
   */
  enqueue<R extends EngineRequest>(
    title: string,
    request: R | (() => Promise<R>),
    afterRun?: (result: EngineResults[R['kind']]) => Promise<void>,
    onProgress?: (p: EngineProgress) => void,
  ): Promise<EngineResults[R['kind']]> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        title,
        request: typeof request === 'function' ? request : async () => request,
        afterRun: afterRun as QueuedRun['afterRun'],
        onProgress,
        resolve: resolve as (v: unknown) => void,
        reject,
        cancelled: false,
      });
      if (this.current) this.log(`queued: ${title} (${this.queue.length} waiting)`);
      void this.pump();
    });
  }

  /** Cancels the running run and everything queued. Returns whether there was anything. */
  cancelAll(): boolean {
    const had = this.busy || this.queue.length > 0;
    for (const run of this.queue.splice(0)) {
      run.cancelled = true;
      run.reject(Object.assign(new Error('The run was cancelled before it started.'), { name: 'CancelledError' }));
    }
    if (this.current) {
      this.current.run.cancelled = true;
      this.current.call?.cancel();
    }
    return had;
  }

  private async pump(): Promise<void> {
    if (this.current) return;
    const run = this.queue.shift();
    if (!run) return;
    this.current = { run };
    this.busyChanged.fire(true);
    const started = Date.now();
    this.log(`run: ${run.title}`);
    try {
      const value = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Unlearn: ${run.title}`, cancellable: true },
        async (progress, token) => {
          let last = '';
          const request = await run.request();
          if (run.cancelled) throw Object.assign(new Error('The run was cancelled; nothing was written.'), { name: 'CancelledError' });
          const call = this.engine.call(
            request,
            (p) => {
              run.onProgress?.(p);
              const message = describeProgress(p);
              if (message === last) return;
              last = message;
              progress.report({ message });
              if (p.phase !== 'attack' && p.phase !== 'unlearn' && p.phase !== 'experiment') this.log(`  ${message}`);
              // The pre-flight warning outlives the progress line, with the objective it recommends one click away.
              if (p.phase === 'warning' && p.message.includes('as if never seen')) void showPreflightWarning(p.message);
            },
            (trip) => this.askGuard(trip),
          );
          this.current!.call = call;
          const subscription = token.onCancellationRequested(() => {
            this.log(`cancelling: ${run.title}`);
            run.cancelled = true;
            call.cancel();
          });
          if (run.cancelled) call.cancel();
          try {
            return await call.result;
          } finally {
            subscription.dispose();
          }
        },
      );
      this.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${run.title}`);
      await run.afterRun?.(value);
      run.resolve(value);
    } catch (e) {
      this.log(
        `${(e as Error).name === 'CancelledError' ? 'cancelled' : 'failed'} after ${((Date.now() - started) / 1000).toFixed(1)} s: ${run.title}: ` +
          `${(e as Error).message}`,
      );
      run.reject(e as Error);
    } finally {
      this.current = undefined;
      this.busyChanged.fire(false);
      void this.pump();
    }
  }

  /** A tripped guard with action `ask`: a modal question; closing it answers `stop`. */
  private async askGuard(trip: GuardTrip): Promise<GuardAnswer> {
    const { message, detail } = guardQuestion(trip);
    this.log(`  guard tripped at step ${trip.step} (agreement ${pct(trip.agreement)}): asking`);
    const choice = await vscode.window.showWarningMessage(
      message,
      { modal: true, detail: `${detail} Closing this dialog stops.` },
      GUARD_CHOICES.stop,
      GUARD_CHOICES.continue,
    );
    const answer: GuardAnswer = choice === GUARD_CHOICES.continue ? 'continue' : 'stop';
    this.log(`  guard: ${answer}`);
    return answer;
  }

  dispose(): void {
    this.cancelAll();
    this.busyChanged.dispose();
  }
}

/** The pre-flight warning as a notification, with a button that makes "as if never seen" the objective of the next runs. */
async function showPreflightWarning(message: string): Promise<void> {
  const action = await vscode.window.showWarningMessage(`Unlearn: ${message}`, 'Use "As If Never Seen" Next Time');
  if (action) await vscode.workspace.getConfiguration('unlearnLens').update('objective', 'unseen', vscode.ConfigurationTarget.Workspace);
}
