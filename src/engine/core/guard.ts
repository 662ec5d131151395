/**
 * The collateral-damage guard: agreement of the model's predictions with the original
 * model's on a probe, checked as the run goes. The probe has parts — the adversarial examples, and
 * images the caller has (held-out or remaining data) — and the guard's agreement is the lowest of
 * the parts': ADV trains toward the original's predictions on its adversarial examples, so they
 * keep agreeing while the rest of the model moves (a run that lost 17 test points showed 90 % on
 * the two pooled; docs/grid.md). Each part is a proxy on its own.
 * Below the threshold it trips: `report` records it and lets the run go on; `stop` restores the last
 * checkpoint that passed and ends the run; `ask` asks whoever runs it which of the two (once). Never
 * a silently wrecked model.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { allVariables, predictClasses, restore, snapshot } from './modelState';
import type { GuardOptions } from '../../contracts/options';
import type { GuardAnswer, GuardTrip } from '../../contracts/protocol';

export interface GuardReport {
  /** Agreement with the original model's predictions at the end: the lowest of the probe's parts (1 = no change seen). */
  agreement: number;
  /** The lowest agreement seen at any check. */
  minAgreement: number;
  /** Probe size: adversarial examples plus the caller's probe images. */
  probeSize: number;
  /** Set when agreement fell below the threshold. */
  tripped?: {
    step: number;
    agreement: number;
    /** What was done: carried on (`report`) or stopped (`stop`). */
    action: 'report' | 'stop';
    rolledBackToStep?: number;
    /** With action `ask`: the answer (absent when there was nobody to ask, and the run stopped). */
    answer?: GuardAnswer;
  };
}

export type GuardQuestion = (trip: Omit<GuardTrip, 'remembered' | 'total'>) => Promise<GuardAnswer>;

export class Guard {
  readonly report: GuardReport;
  private readonly variables: tfTypes.Variable[];
  private checkpoint: { step: number; values: tfTypes.Tensor[] } | undefined;

  private constructor(
    private readonly model: tfTypes.LayersModel,
    private readonly parts: Array<{ images: Float32Array; original: Int32Array }>,
    private readonly imageShape: [number, number, number],
    private readonly options: GuardOptions,
  ) {
    this.report = { agreement: 1, minAgreement: 1, probeSize: parts.reduce((n, p) => n + p.original.length, 0) };
    this.variables = allVariables(model);
  }

  /** Records the model's current predictions on each part of the probe as the reference to agree with (empty parts are left out). */
  static async start(model: tfTypes.LayersModel, parts: Float32Array[], imageShape: [number, number, number], options: GuardOptions): Promise<Guard> {
    const kept = parts.filter((p) => p.length > 0);
    const withOriginal = await Promise.all(kept.map(async (images) => ({ images, original: await predictClasses(model, images, imageShape) })));
    return new Guard(model, withOriginal, imageShape, options);
  }

  /** The lowest agreement over the parts (1 with no probe). */
  private async agreement(): Promise<number> {
    let lowest = 1;
    for (const part of this.parts) {
      const now = await predictClasses(this.model, part.images, this.imageShape);
      let same = 0;
      for (let i = 0; i < now.length; i++) if (now[i] === part.original[i]) same++;
      lowest = Math.min(lowest, same / now.length);
    }
    return lowest;
  }

  /**
   * Checks at `step`; false when the run must stop (the model is then rolled back). With action
   * `ask`, the first trip puts the question to `ask` (no `ask`: stop); after a `continue` it only
   * watches, like `report`.
   */
  async check(step: number, ask?: GuardQuestion): Promise<boolean> {
    const a = await this.agreement();
    this.report.agreement = a;
    this.report.minAgreement = Math.min(this.report.minAgreement, a);
    const canStop = this.options.action === 'stop' || (this.options.action === 'ask' && !this.report.tripped);
    if (a >= this.options.minAgreement) {
      if (canStop) {
        this.disposeCheckpoint();
        this.checkpoint = { step, values: snapshot(this.variables) };
      }
      return true;
    }
    if (this.report.tripped) return this.report.tripped.action !== 'stop';
    if (this.options.action === 'report') {
      this.report.tripped = { step, agreement: a, action: 'report' };
      return true;
    }
    let answer: GuardAnswer | undefined;
    if (this.options.action === 'ask' && ask) {
      answer = await ask({ step, agreement: a, minAgreement: this.options.minAgreement, rollbackStep: this.checkpoint?.step });
    }
    this.report.tripped = { step, agreement: a, action: answer === 'continue' ? 'report' : 'stop', ...(answer ? { answer } : {}) };
    if (answer === 'continue') {
      this.disposeCheckpoint();
      return true;
    }
    if (this.checkpoint) {
      restore(this.variables, this.checkpoint.values);
      this.report.tripped.rolledBackToStep = this.checkpoint.step;
      this.report.agreement = await this.agreement();
    }
    return false;
  }

  private disposeCheckpoint(): void {
    if (this.checkpoint) tf.dispose(this.checkpoint.values);
    this.checkpoint = undefined;
  }

  dispose(): void {
    this.disposeCheckpoint();
  }
}
