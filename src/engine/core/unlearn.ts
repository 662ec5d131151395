/**
 * The unlearning loop (Cha et al., AAAI 2024): negative gradient, ADV, IMP and ADV+IMP,
 * SGD with momentum and weight decay, BatchNorm training, stopping after the first step at which
 * the forget set is fully forgotten (checked in inference mode), capped at maxEpochs.
 *
 * The model passed in is changed in place: callers pass a fresh copy of the original.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { Rng } from './rng';
import { gatherRows } from '../data/dataset';
import { targetedL2Pgd, type AdversarialSet, type AttackInput } from './attack';
import type { AttackProgress, GuardAnswer, GuardTrip, UnlearnProgress } from '../../contracts/protocol';
import { invertedImportance, masImportance } from './importance';
import { boundedForgetLoss, crossEntropy, crossEntropyPerExample, forgetLoss, importancePenalty, maskOwnClass, pairedLoss } from './objectives';
import { logits, snapshot, trainableParameters } from './modelState';
import { Guard, type GuardQuestion, type GuardReport } from './guard';

export type { GuardReport } from './guard';
import { Sgd, nonFiniteProbe } from './optimizer';
import { examplesPerInstance, usesAdversarial, usesImportance, usesRetainData, type AttackOptions, type UnlearnOptions } from '../../contracts/options';
import { throwIfAborted, UserInputError } from '../../contracts/errors';
import { layerChanges, perUnitMean, type LayerChange } from './metrics';
import {
  anchorLoss,
  classProbabilities,
  UNSEEN_ANCHOR_BATCH,
  UNSEEN_PATIENCE,
  UNSEEN_SETTLED_GAIN,
  UNSEEN_TOLERANCE,
  unseenLoss,
  unseenTargets,
  type UnseenReference,
  type UnseenTargets,
} from './unseen';

export interface ForgetSet {
  images: Float32Array;
  labels: Int32Array;
  imageShape: [number, number, number];
  numClasses: number;
}

/**
 * Why a run ended: every instance forgotten; the epoch cap; the guard (stop action); `diverged`:
 * the loss or the updated weights stopped being finite numbers (the unbounded −CE can overflow), so
 * that step was not applied and the model is the one from the step before; or `settled` ("as if
 * never seen" only): the instances still short of their targets stopped getting closer (the anchor
 * holds them), so more steps would change nothing.
 */
export type StopReason = 'forgotten' | 'max-epochs' | 'guard' | 'diverged' | 'settled';

export interface UnlearnResult {
  steps: number;
  epochs: number;
  stopped: StopReason;
  guard: GuardReport;
  /** Forget instances still predicted as their label (relabel: not yet predicted as the new label). */
  remembered: number;
  seconds: { attack: number; importance: number; unlearn: number; total: number };
  layerChanges: LayerChange[];
  adversarial?: AdversarialSet;
  /** "As if never seen": each instance's target loss and the pre-flight estimate. */
  unseen?: UnseenTargets;
}

export interface UnlearnContext {
  signal?: AbortSignal;
  onProgress?: (p: UnlearnProgress) => void;
  /** An adversarial set already made from the same original model, forget set and seed. */
  adversarial?: AdversarialSet;
  /** Images the guard watches (e.g. held-out or remaining data), in the forget set's shape. */
  probe?: Float32Array;
  /** The oracle method's remaining training data (never the forget instances). */
  retain?: { images: Float32Array; labels: Int32Array };
  /** "As if never seen": other training data and held-out data that sharpen the target losses (both optional). */
  unseenReference?: UnseenReference;
  /** With guard action `ask`: whether to stop and roll back or carry on (none: stop). The time it takes is not counted in the run's seconds. */
  onGuardTrip?: (trip: GuardTrip) => Promise<GuardAnswer>;
  /** Runs the attack when there is no `adversarial` set: in this thread by default; runtime/attackPool.ts splits it over worker threads. */
  attack?: AttackRunner;
}

/** Makes an adversarial set; `workers` is a hint a runner without threads ignores (the set is the same either way). */
export type AttackRunner = (
  model: tfTypes.LayersModel,
  input: AttackInput,
  options: AttackOptions,
  rng: Rng,
  workers: number | 'auto',
  signal?: AbortSignal,
  onProgress?: (p: AttackProgress) => void,
) => Promise<AdversarialSet>;

const attackInThisThread: AttackRunner = (model, input, options, rng, _workers, signal, onProgress) =>
  targetedL2Pgd(model, input, options, rng, signal, onProgress);

const GUARD_ADVERSARIAL_SAMPLE = 512;

export function validateForgetSet(forget: ForgetSet, options: UnlearnOptions): void {
  const k = forget.labels.length;
  if (k === 0) throw new UserInputError('Nothing is selected to forget. Select one or more training instances first.');
  for (let i = 0; i < k; i++) {
    const y = forget.labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < forget.numClasses)) {
      throw new UserInputError(
        `Forget instance ${i} has label ${y}, outside the model's ${forget.numClasses} classes (0..${forget.numClasses - 1}). Fix the label in the dataset ` +
          `or manifest.`,
      );
    }
  }
  if (options.objective.kind === 'relabel') {
    const labels = options.objective.labels;
    if (labels.length !== k) throw new UserInputError(`Relabel needs one new label per forget instance (${k}), got ${labels.length}.`);
    labels.forEach((y, i) => {
      if (!(Number.isInteger(y) && y >= 0 && y < forget.numClasses))
        throw new UserInputError(`New label ${y} for instance ${i} is outside 0..${forget.numClasses - 1}.`);
    });
  }
}

/** The adversarial set for a forget set, from the original model (inference mode). */
export function makeAdversarialSet(model: tfTypes.LayersModel, forget: ForgetSet, options: UnlearnOptions, ctx: UnlearnContext = {}): Promise<AdversarialSet> {
  return (ctx.attack ?? attackInThisThread)(
    model,
    {
      images: forget.images,
      labels: forget.labels,
      imageShape: forget.imageShape,
      numClasses: forget.numClasses,
      examplesPerInstance: examplesPerInstance(options.attack, forget.numClasses),
    },
    options.attack,
    new Rng(options.seed * 7919 + 1),
    options.attack.workers,
    ctx.signal,
    (p) => ctx.onProgress?.({ phase: 'attack', ...p }),
  );
}

/** The guard's probe parts: an even spread of the adversarial examples (every forget instance contributes), and the caller's images. */
function probeParts(adversarial: AdversarialSet | undefined, extra: Float32Array | undefined, size: number): Float32Array[] {
  const parts: Float32Array[] = [];
  if (adversarial) {
    const count = adversarial.targets.length;
    const take = Math.min(count, GUARD_ADVERSARIAL_SAMPLE);
    const picks = Array.from({ length: take }, (_, j) => Math.floor((j * count) / take));
    parts.push(gatherRows(adversarial.images, size, picks));
  }
  if (extra) parts.push(extra);
  return parts;
}

/**
 * Batches of indices 0..count-1. Shuffled (default): a new random order each pass (a DataLoader
 * with shuffle=True). Not shuffled: consecutive batches in index order, the same every pass (a
 * DataLoader with shuffle=False; the last batch may be short); draws nothing from `rng`.
 */
/** The tensors one step's loss is made of; the caller owns them (a tidy around the step). */
export interface StepTerms {
  /** The forget batch and its goal labels (the true labels; relabel: the new ones). */
  xf: tfTypes.Tensor4D;
  yf: tfTypes.Tensor1D;
  /** "As if never seen": each forget instance's target loss. */
  targets?: tfTypes.Tensor1D;
  /** The paired batch: adversarial examples and their targets (ADV), or remaining data (oracle). */
  xa?: tfTypes.Tensor4D;
  ta?: tfTypes.Tensor1D;
  /** Other images and the pre-trained model's class probabilities on them. */
  anchor?: { images: tfTypes.Tensor4D; probs: tfTypes.Tensor2D };
  /** The inverted-importance penalty (IMP): the starting weights and each weight's penalty weight. */
  penalty?: { theta0: tfTypes.Tensor[]; weights: tfTypes.Tensor[] };
}

/**
 * The loss of one unlearning step: the forget term, averaged with the paired batch's CE when there
 * is one, plus the anchor and the importance penalty. Call inside tf.variableGrads.
 */
export function stepLoss(model: tfTypes.LayersModel, variables: tfTypes.Variable[], options: UnlearnOptions, t: StepTerms): tfTypes.Scalar {
  // Adversarial batch first, then the forget batch: separate forwards, as the reference.
  const adversarialCe = t.xa && t.ta ? crossEntropy(logits(model, t.xa, true), t.ta) : undefined;
  const forgetLogits = logits(model, t.xf, options.forgetStatistics === 'batch');
  const forgetTerm = t.targets
    ? unseenLoss(crossEntropyPerExample(forgetLogits, t.yf), t.targets)
    : options.forgetTerm === 'negative-ce'
      ? forgetLoss(forgetLogits, t.yf, options.objective.kind === 'relabel')
      : boundedForgetLoss(options.forgetTerm, forgetLogits, t.yf, options.stopMargin);
  let loss = adversarialCe ? pairedLoss(forgetTerm, t.xf.shape[0], adversarialCe, t.xa!.shape[0]) : forgetTerm;
  if (t.anchor) loss = tf.add(loss, tf.mul(anchorLoss(logits(model, t.anchor.images, false), t.anchor.probs), options.anchorWeight)) as tfTypes.Scalar;
  if (t.penalty) loss = tf.add(loss, importancePenalty(variables, t.penalty.theta0, t.penalty.weights, options.lambda)) as tfTypes.Scalar;
  return loss;
}

export class Loader {
  private order: number[] = [];
  private position = 0;
  constructor(
    private readonly count: number,
    private readonly batchSize: number,
    private readonly rng: Rng,
    private readonly shuffle = true,
  ) {}
  get batchesPerEpoch(): number {
    return Math.ceil(this.count / this.batchSize);
  }
  next(): number[] {
    if (this.position >= this.order.length) {
      this.order = this.shuffle ? this.rng.permutation(this.count) : Array.from({ length: this.count }, (_, i) => i);
      this.position = 0;
    }
    const batch = this.order.slice(this.position, this.position + this.batchSize);
    this.position += this.batchSize;
    return batch;
  }
}

export async function unlearn(model: tfTypes.LayersModel, forget: ForgetSet, options: UnlearnOptions, ctx: UnlearnContext = {}): Promise<UnlearnResult> {
  validateForgetSet(forget, options);
  const retain = usesRetainData(options.method) ? ctx.retain : undefined;
  if (usesRetainData(options.method) && !retain?.labels.length) {
    throw new UserInputError(
      'The oracle method needs the remaining training data (it trains on it while forgetting). Run it from an experiment, which has that data, or choose ' +
        'another method.',
    );
  }
  const started = performance.now();
  const seconds = { attack: 0, importance: 0, unlearn: 0, total: 0 };
  const { imageShape } = forget;
  const size = imageShape[0] * imageShape[1] * imageShape[2];
  const k = forget.labels.length;
  const relabel = options.objective.kind === 'relabel';
  const unseen = options.objective.kind === 'unseen';
  const goal = relabel ? Int32Array.from((options.objective as { labels: number[] }).labels) : forget.labels;

  let adversarial: AdversarialSet | undefined;
  if (usesAdversarial(options.method)) {
    const t0 = performance.now();
    adversarial = ctx.adversarial ?? (await makeAdversarialSet(model, forget, options, ctx));
    seconds.attack = (performance.now() - t0) / 1000;
  }

  const params = trainableParameters(model);
  const variables = params.map((p) => p.variable);
  const theta0 = snapshot(variables);
  const forgetX = tf.tensor4d(forget.images, [k, ...imageShape]);
  // "As if never seen": target losses from the pre-trained model, before any update.
  // Only the targets: the estimate's shifted ranks are not read.
  const unseenPlan = unseen ? await unseenTargets(model, forget, ctx.unseenReference, false) : undefined;
  const targetLosses = unseenPlan ? Float32Array.from(unseenPlan.instances, (e) => e.targetLoss) : undefined;
  const targetsT = targetLosses ? tf.tensor1d(targetLosses) : undefined;
  // With other data at hand, the pre-trained model's probabilities on it anchor everything else
  // ("as if never seen" always; other objectives with options.anchor).
  const anchorSource = ctx.unseenReference?.anchor ?? ctx.unseenReference?.heldOut;
  const anchorData = (unseen || options.anchor) && anchorSource?.labels.length ? anchorSource : undefined;
  const anchor = anchorData
    ? { images: anchorData.images, count: anchorData.labels.length, ...(await classProbabilities(model, anchorData.images, imageShape)) }
    : undefined;
  let penaltyWeights: tfTypes.Tensor[] | undefined;
  let unitImportance: number[][] | undefined;
  let guard: Guard | undefined;
  const optimizer = new Sgd(variables, options.learningRate, options.momentum, options.weightDecay);
  try {
    if (usesImportance(options.method)) {
      throwIfAborted(ctx.signal);
      ctx.onProgress?.({ phase: 'importance' });
      const t0 = performance.now();
      const { omega } = masImportance(model, forgetX);
      penaltyWeights = invertedImportance(omega);
      tf.dispose(omega);
      seconds.importance = (performance.now() - t0) / 1000;
      // For the report (not timed as IMP): how much the forget set relies on each output unit (1 - w, averaged).
      const reliance = tf.tidy(() => penaltyWeights!.map((w) => tf.sub(1, w)));
      try {
        unitImportance = await perUnitMean(reliance);
      } finally {
        tf.dispose(reliance);
      }
    }

    const t0 = performance.now();
    const rng = new Rng(options.seed * 7919 + 2);
    const forgetLoader = new Loader(k, options.forgetBatchSize, rng);
    // The adversarial set is laid out repetition-major (attack.ts, planAttack); `fixed` keeps that order every epoch, as the paper's code.
    const advLoader = adversarial
      ? new Loader(adversarial.targets.length, options.adversarialBatchSize, rng, options.adversarialOrder === 'shuffled')
      : undefined;
    const retainLoader = retain ? new Loader(retain.labels.length, options.retainBatchSize, rng) : undefined;
    // Its own random source, so the other loaders draw what they draw without it.
    const anchorLoader = anchor ? new Loader(anchor.count, UNSEEN_ANCHOR_BATCH, new Rng(options.seed * 7919 + 3)) : undefined;
    const stepsPerEpoch = advLoader ? advLoader.batchesPerEpoch : forgetLoader.batchesPerEpoch;
    // "As if never seen": how far the instances still are from their tolerated targets, in all
    // (the sum of the gaps), read with the count; what the settled rule watches.
    let shortfall = Infinity;
    const remembered = async (): Promise<number> => {
      if (targetsT) {
        // Not yet unseen: the loss (inference mode) still below the tolerated share of its target.
        const both = tf.tidy(() => {
          const ce = crossEntropyPerExample(logits(model, forgetX, false, true), tf.tensor1d(goal, 'int32'));
          const goalLoss = tf.mul(targetsT, UNSEEN_TOLERANCE);
          return tf.stack([tf.sum(tf.cast(tf.less(ce, goalLoss), 'float32')), tf.sum(tf.relu(tf.sub(goalLoss, ce)))]);
        });
        const [n, gap] = await both.data();
        both.dispose();
        shortfall = gap;
        return n;
      }
      if (relabel || options.stopMargin === 0) {
        // The forget set is already on the backend (forgetX): no upload per step.
        const argMax = tf.tidy(() => tf.argMax(logits(model, forgetX, false, true), 1));
        const predicted = await argMax.data();
        argMax.dispose();
        let n = 0;
        for (let i = 0; i < k; i++) if (relabel ? predicted[i] !== goal[i] : predicted[i] === goal[i]) n++;
        return n;
      }
      // Forgotten only once the label's logit is below the best other class by stopMargin.
      const count = tf.tidy(() => {
        const z = logits(model, forgetX, false, true);
        const oneHot = tf.oneHot(tf.tensor1d(goal, 'int32'), forget.numClasses);
        const margin = tf.sub(tf.sum(tf.mul(oneHot, z), 1), tf.max(maskOwnClass(z, oneHot), 1));
        return tf.sum(tf.cast(tf.greater(margin, -options.stopMargin), 'int32'));
      });
      const n = (await count.data())[0];
      count.dispose();
      return n;
    };

    // The guard's probe, in parts: a sample of the adversarial examples, and the caller's probe images.
    guard = await Guard.start(model, probeParts(adversarial, ctx.probe, size), imageShape, options.guard);

    let steps = 0;
    let epochs = 0;
    let left = await remembered();
    // Time spent waiting for an answer is the user's, not the run's.
    let waited = 0;
    const onTrip = ctx.onGuardTrip;
    const ask: GuardQuestion | undefined = onTrip
      ? async (q) => {
          const asked = performance.now();
          try {
            return await onTrip({ ...q, remembered: left, total: k });
          } finally {
            waited += performance.now() - asked;
          }
        }
      : undefined;
    let stopped: UnlearnResult['stopped'] = left === 0 ? 'forgotten' : 'max-epochs';
    // Settled: no step in the last UNSEEN_PATIENCE left fewer instances short than ever, nor brought
    // the total shortfall down by UNSEEN_SETTLED_GAIN of its lowest value.
    let bestShortfall = shortfall;
    let fewestLeft = left;
    let improvedAt = 0;
    await guard.check(0);
    outer: while (left > 0 && epochs < options.maxEpochs) {
      epochs++;
      for (let b = 0; b < stepsPerEpoch; b++) {
        throwIfAborted(ctx.signal);
        const forgetBatch = forgetLoader.next();
        const proposed = tf.tidy(() => {
          const xf = tf.tensor4d(gatherRows(forget.images, size, forgetBatch), [forgetBatch.length, ...imageShape]);
          const yf = tf.tensor1d(
            forgetBatch.map((i) => goal[i]),
            'int32',
          );
          let xa: tfTypes.Tensor4D | undefined;
          let ta: tfTypes.Tensor1D | undefined;
          if (advLoader && adversarial) {
            const advBatch = advLoader.next();
            xa = tf.tensor4d(gatherRows(adversarial.images, size, advBatch), [advBatch.length, ...imageShape]);
            ta = tf.tensor1d(
              advBatch.map((i) => adversarial!.targets[i]),
              'int32',
            );
          } else if (retainLoader && retain) {
            // Oracle: the paired batch is remaining training data with its own labels.
            const retainBatch = retainLoader.next();
            xa = tf.tensor4d(gatherRows(retain.images, size, retainBatch), [retainBatch.length, ...imageShape]);
            ta = tf.tensor1d(
              retainBatch.map((i) => retain.labels[i]),
              'int32',
            );
          }
          const targets = targetsT ? (tf.gather(targetsT, tf.tensor1d(forgetBatch, 'int32')) as tfTypes.Tensor1D) : undefined;
          let anchorBatch: StepTerms['anchor'];
          if (anchorLoader && anchor) {
            const batch = anchorLoader.next();
            anchorBatch = {
              images: tf.tensor4d(gatherRows(anchor.images, size, batch), [batch.length, ...imageShape]),
              probs: tf.tensor2d(gatherRows(anchor.probs, anchor.classes, batch), [batch.length, anchor.classes]),
            };
          }
          const penalty = penaltyWeights ? { theta0, weights: penaltyWeights } : undefined;
          const { value, grads } = tf.variableGrads(
            () => stepLoss(model, variables, options, { xf, yf, targets, xa, ta, anchor: anchorBatch, penalty }),
            variables,
          );
          const update = optimizer.propose(variables.map((v) => grads[v.name] ?? tf.zerosLike(v)));
          // One read gives the loss and whether the step keeps every weight finite (0) or not (NaN).
          return { update, check: tf.stack([value, nonFiniteProbe(update.values)]) };
        });
        const [loss, weightsProbe] = await proposed.check.data();
        proposed.check.dispose();
        if (!Number.isFinite(loss) || weightsProbe !== 0) {
          optimizer.discard(proposed.update);
          stopped = 'diverged';
          ctx.onProgress?.({ phase: 'unlearn', step: steps, epoch: epochs, loss, remembered: left, total: k });
          break outer;
        }
        optimizer.commit(proposed.update);
        steps++;
        left = await remembered();
        ctx.onProgress?.({ phase: 'unlearn', step: steps, epoch: epochs, loss, remembered: left, total: k });
        await new Promise((resolve) => setImmediate(resolve));
        const done = left === 0;
        // The guard looks every `every` steps and always at the last one.
        if ((done || steps % options.guard.every === 0) && !(await guard.check(steps, ask))) {
          stopped = 'guard';
          left = await remembered();
          break outer;
        }
        if (done) {
          stopped = 'forgotten';
          break outer;
        }
        if (targetsT) {
          // Progress: fewer instances short than ever, or the total shortfall down by the gain.
          if (left < fewestLeft || shortfall < bestShortfall * (1 - UNSEEN_SETTLED_GAIN)) {
            fewestLeft = Math.min(fewestLeft, left);
            bestShortfall = Math.min(bestShortfall, shortfall);
            improvedAt = steps;
          } else if (steps - improvedAt >= UNSEEN_PATIENCE) {
            stopped = 'settled';
            break outer;
          }
        }
      }
    }
    // A run that ran out of steps or settled: the guard looks at the last step too.
    if ((stopped === 'max-epochs' || stopped === 'settled') && steps % options.guard.every !== 0 && !(await guard.check(steps, ask))) {
      stopped = 'guard';
      left = await remembered();
    }
    seconds.unlearn = (performance.now() - t0 - waited) / 1000;
    seconds.total = (performance.now() - started - waited) / 1000;
    const changes = await layerChanges(
      params.map((p) => p.name),
      theta0,
      variables,
      unitImportance,
    );
    return {
      steps,
      epochs,
      stopped,
      guard: guard.report,
      remembered: left,
      seconds,
      layerChanges: changes,
      adversarial,
      ...(unseenPlan ? { unseen: unseenPlan } : {}),
    };
  } finally {
    guard?.dispose();
    optimizer.dispose();
    tf.dispose(theta0);
    forgetX.dispose();
    targetsT?.dispose();
    if (penaltyWeights) tf.dispose(penaltyWeights);
  }
}
