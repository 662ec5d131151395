/**
 * The unlearning loop (MISSION.md, "The algorithm"): negative gradient, ADV, IMP and ADV+IMP,
 * SGD with momentum and weight decay, BatchNorm training, stopping after the first step at which
 * the forget set is fully forgotten (checked in inference mode), capped at maxEpochs.
 *
 * The model passed in is changed in place: callers pass a fresh copy of the original.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { Rng } from './rng';
import type { AdversarialSet, AttackProgress } from './attack';
import { parallelTargetedL2Pgd } from './attackPool';
import { invertedImportance, masImportance } from './importance';
import { crossEntropy, forgetLoss, importancePenalty, pairedLoss } from './objectives';
import { logits, predictClasses, snapshot, trainableParameters } from './modelState';
import { Sgd } from './optimizer';
import { examplesPerInstance, usesAdversarial, usesImportance, type UnlearnOptions } from './options';
import { throwIfAborted, UserInputError } from './errors';
import { layerChanges, type LayerChange } from './metrics';

export interface ForgetSet {
  images: Float32Array;
  labels: Int32Array;
  imageShape: [number, number, number];
  numClasses: number;
}

export type UnlearnProgress =
  | ({ phase: 'attack' } & AttackProgress)
  | { phase: 'importance' }
  | { phase: 'unlearn'; step: number; epoch: number; loss: number; remembered: number; total: number };

export interface UnlearnResult {
  steps: number;
  epochs: number;
  stopped: 'forgotten' | 'max-epochs';
  /** Forget instances still predicted as their label (relabel: not yet predicted as the new label). */
  remembered: number;
  seconds: { attack: number; importance: number; unlearn: number; total: number };
  layerChanges: LayerChange[];
  adversarial?: AdversarialSet;
}

export interface UnlearnContext {
  signal?: AbortSignal;
  onProgress?: (p: UnlearnProgress) => void;
  /** An adversarial set already made from the same original model, forget set and seed. */
  adversarial?: AdversarialSet;
}

export function validateForgetSet(forget: ForgetSet, options: UnlearnOptions): void {
  const k = forget.labels.length;
  if (k === 0) throw new UserInputError('Nothing is selected to forget. Select one or more training instances first.');
  for (let i = 0; i < k; i++) {
    const y = forget.labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < forget.numClasses)) {
      throw new UserInputError(`Forget instance ${i} has label ${y}, outside the model's ${forget.numClasses} classes (0..${forget.numClasses - 1}). Fix the label in the dataset or manifest.`);
    }
  }
  if (options.objective.kind === 'relabel') {
    const labels = options.objective.labels;
    if (labels.length !== k) throw new UserInputError(`Relabel needs one new label per forget instance (${k}), got ${labels.length}.`);
    labels.forEach((y, i) => {
      if (!(Number.isInteger(y) && y >= 0 && y < forget.numClasses)) throw new UserInputError(`New label ${y} for instance ${i} is outside 0..${forget.numClasses - 1}.`);
    });
  }
}

/** The adversarial set for a forget set, from the original model (inference mode). */
export function makeAdversarialSet(model: tfTypes.LayersModel, forget: ForgetSet, options: UnlearnOptions, ctx: UnlearnContext = {}): Promise<AdversarialSet> {
  return parallelTargetedL2Pgd(
    model,
    { images: forget.images, labels: forget.labels, imageShape: forget.imageShape, numClasses: forget.numClasses, examplesPerInstance: examplesPerInstance(options.attack, forget.numClasses) },
    options.attack,
    new Rng(options.seed * 7919 + 1),
    options.attack.workers,
    ctx.signal,
    (p) => ctx.onProgress?.({ phase: 'attack', ...p }),
  );
}

function gather(images: Float32Array, size: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * size);
  for (let j = 0; j < indices.length; j++) out.set(images.subarray(indices[j] * size, (indices[j] + 1) * size), j * size);
  return out;
}

/** Batches of a shuffled index list, reshuffled each pass (a DataLoader with shuffle=True). */
class Loader {
  private order: number[] = [];
  private position = 0;
  constructor(
    private readonly count: number,
    private readonly batchSize: number,
    private readonly rng: Rng,
  ) {}
  get batchesPerEpoch(): number {
    return Math.ceil(this.count / this.batchSize);
  }
  next(): number[] {
    if (this.position >= this.order.length) {
      this.order = this.rng.permutation(this.count);
      this.position = 0;
    }
    const batch = this.order.slice(this.position, this.position + this.batchSize);
    this.position += this.batchSize;
    return batch;
  }
}

export async function unlearn(model: tfTypes.LayersModel, forget: ForgetSet, options: UnlearnOptions, ctx: UnlearnContext = {}): Promise<UnlearnResult> {
  validateForgetSet(forget, options);
  const started = performance.now();
  const seconds = { attack: 0, importance: 0, unlearn: 0, total: 0 };
  const { imageShape } = forget;
  const size = imageShape[0] * imageShape[1] * imageShape[2];
  const k = forget.labels.length;
  const relabel = options.objective.kind === 'relabel';
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
  let penaltyWeights: tfTypes.Tensor[] | undefined;
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
    }

    const t0 = performance.now();
    const rng = new Rng(options.seed * 7919 + 2);
    const forgetLoader = new Loader(k, options.forgetBatchSize, rng);
    const advLoader = adversarial ? new Loader(adversarial.targets.length, options.adversarialBatchSize, rng) : undefined;
    const stepsPerEpoch = advLoader ? advLoader.batchesPerEpoch : forgetLoader.batchesPerEpoch;
    const remembered = async (): Promise<number> => {
      const predicted = await predictClasses(model, forget.images, imageShape);
      let n = 0;
      for (let i = 0; i < k; i++) if (relabel ? predicted[i] !== goal[i] : predicted[i] === goal[i]) n++;
      return n;
    };

    let steps = 0;
    let epochs = 0;
    let left = await remembered();
    let stopped: UnlearnResult['stopped'] = left === 0 ? 'forgotten' : 'max-epochs';
    outer: while (left > 0 && epochs < options.maxEpochs) {
      epochs++;
      for (let b = 0; b < stepsPerEpoch; b++) {
        throwIfAborted(ctx.signal);
        const forgetBatch = forgetLoader.next();
        const lossValue = tf.tidy(() => {
          const xf = tf.tensor4d(gather(forget.images, size, forgetBatch), [forgetBatch.length, ...imageShape]);
          const yf = tf.tensor1d(forgetBatch.map((i) => goal[i]), 'int32');
          let xa: tfTypes.Tensor4D | undefined;
          let ta: tfTypes.Tensor1D | undefined;
          if (advLoader && adversarial) {
            const advBatch = advLoader.next();
            xa = tf.tensor4d(gather(adversarial.images, size, advBatch), [advBatch.length, ...imageShape]);
            ta = tf.tensor1d(advBatch.map((i) => adversarial!.targets[i]), 'int32');
          }
          const { value, grads } = tf.variableGrads(() => {
            // Adversarial batch first, then the forget batch: separate forwards, as the reference.
            const adversarialCe = xa && ta ? crossEntropy(logits(model, xa, true), ta) : undefined;
            const forgetTerm = forgetLoss(logits(model, xf, true), yf, relabel);
            let loss = adversarialCe ? pairedLoss(forgetTerm, forgetBatch.length, adversarialCe, xa!.shape[0]) : forgetTerm;
            if (penaltyWeights) loss = tf.add(loss, importancePenalty(variables, theta0, penaltyWeights, options.lambda)) as tfTypes.Scalar;
            return loss;
          }, variables);
          optimizer.step(variables.map((v) => grads[v.name] ?? tf.zerosLike(v)));
          return value;
        });
        const loss = (await lossValue.data())[0];
        lossValue.dispose();
        steps++;
        left = await remembered();
        ctx.onProgress?.({ phase: 'unlearn', step: steps, epoch: epochs, loss, remembered: left, total: k });
        await new Promise((resolve) => setImmediate(resolve));
        if (left === 0) {
          stopped = 'forgotten';
          break outer;
        }
      }
    }
    seconds.unlearn = (performance.now() - t0) / 1000;
    seconds.total = (performance.now() - started) / 1000;
    const changes = await layerChanges(params.map((p) => p.name), theta0, variables);
    return { steps, epochs, stopped, remembered: left, seconds, layerChanges: changes, adversarial };
  } finally {
    optimizer.dispose();
    tf.dispose(theta0);
    forgetX.dispose();
    if (penaltyWeights) tf.dispose(penaltyWeights);
  }
}
