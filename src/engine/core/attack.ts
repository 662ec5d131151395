/**
 * ADV: targeted L2 PGD from the original model in inference mode (the paper's ADV).
 *
 * For each forget instance, N_adv examples: target t drawn uniformly from the classes != y, a random
 * start (`randomStart`; by default the paper's code's, advertorch's L2 PGD: a uniform random image
 * in [0, 1] minus x, projected onto the eps-ball and clipped to the box), then `steps` times
 *   delta <- delta - alpha * g / ||g||_2,  g = d/d delta CE(f(x + delta), t)
 *   delta <- clip(x + delta, 0, 1) - x;  delta <- delta * min(1, eps / ||delta||_2)
 * keeping the last iterate. Each example is labelled with its target.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { crossEntropyPerExample } from './objectives';
import { logits } from './modelState';
import type { AttackOptions } from '../../contracts/options';
import type { Rng } from './rng';
import { throwIfAborted } from '../../contracts/errors';
import type { AttackProgress } from '../../contracts/protocol';

export interface AdversarialSet {
  /** count * h * w * c, in [0, 1]. */
  images: Float32Array;
  /** The target class each example was pushed to (its training label). */
  targets: Int32Array;
  /** Which forget instance each example came from. */
  sources: Int32Array;
  /** The class the original model predicts for each example (usually its target). */
  predicted: Int32Array;
}

/** The share of adversarial examples the original model classifies as their target class (0 for none). */
export function attackSuccess(set: Pick<AdversarialSet, 'targets' | 'predicted'>): number {
  let hits = 0;
  for (let i = 0; i < set.targets.length; i++) if (set.predicted[i] === set.targets[i]) hits++;
  return set.targets.length ? hits / set.targets.length : 0;
}

/** A target uniformly among the classes other than `label`. */
export function drawTarget(label: number, numClasses: number, rng: Rng): number {
  return (label + 1 + rng.int(numClasses - 1)) % numClasses;
}

/** A point uniform in the L2 ball of `radius` in `dim` dimensions. */
export function randomInBall(dim: number, radius: number, rng: Rng): Float32Array {
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = rng.normal();
    norm += v[i] * v[i];
  }
  const scale = (radius * Math.pow(rng.next(), 1 / dim)) / Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] *= scale;
  return v;
}

/**
 * The start of the paper's code (advertorch's L2 PGD with a random start): u uniform in [0, 1]^dim,
 * delta = u - x, scaled onto the eps-ball when farther (delta * min(1, eps / ||delta||_2)). Since
 * x + delta is then a convex combination of x and u it lies in the image box; attackRange still
 * clips it (clip(x + delta, 0, 1) - x), as the reference does, which only absorbs rounding.
 * Computed in double precision and rounded to float32 once (the PyTorch twin does the same).
 */
export function uniformImageStart(x: ArrayLike<number>, radius: number, rng: Rng): Float32Array {
  const dim = x.length;
  const d = new Float64Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    d[i] = rng.next() - x[i];
    norm += d[i] * d[i];
  }
  norm = Math.sqrt(norm);
  const scale = Math.min(1, radius / Math.max(norm, 1e-12));
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = d[i] * scale;
  return v;
}

const perExampleNorm = (t: tfTypes.Tensor): tfTypes.Tensor => tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true));

/** One PGD step on a batch; exported for the golden test. */
export function pgdStep(
  model: tfTypes.LayersModel,
  x: tfTypes.Tensor4D,
  delta: tfTypes.Tensor4D,
  targets: tfTypes.Tensor1D,
  epsilon: number,
  stepSize: number,
): tfTypes.Tensor4D {
  return tf.tidy(() => {
    const grad = tf.grad((d: tfTypes.Tensor) => tf.sum(crossEntropyPerExample(logits(model, tf.add(x, d), false, true), targets)))(delta);
    const stepped = tf.sub(delta, tf.mul(stepSize, tf.div(grad, tf.maximum(perExampleNorm(grad), 1e-12))));
    const clipped = tf.sub(tf.clipByValue(tf.add(x, stepped), 0, 1), x);
    const norm = perExampleNorm(clipped);
    return tf.mul(clipped, tf.minimum(1, tf.div(epsilon, tf.maximum(norm, 1e-12)))) as tfTypes.Tensor4D;
  });
}

export interface AttackInput {
  images: Float32Array;
  labels: Int32Array;
  imageShape: [number, number, number];
  numClasses: number;
  examplesPerInstance: number;
}

/** Targets, sources and random starts for every example, drawn up front in a fixed order. */
export interface AttackPlan {
  targets: Int32Array;
  sources: Int32Array;
  starts: Float32Array;
}

/**
 * Draws the plan: example e = r * k + i is round r of forget instance i (repetition-major: every
 * instance's 1st example, then every instance's 2nd, ...). Per example, in order: the target, then
 * its start (uniform-image: dim uniforms; in-ball: dim normals and a radius). Because everything
 * random is drawn here, example by example from the one seeded generator, the attack's result does
 * not depend on chunkSize or on how work is split across worker threads.
 */
export function planAttack(input: AttackInput, options: AttackOptions, rng: Rng): AttackPlan {
  const size = input.imageShape[0] * input.imageShape[1] * input.imageShape[2];
  const k = input.labels.length;
  const count = k * input.examplesPerInstance;
  const targets = new Int32Array(count);
  const sources = new Int32Array(count);
  const starts = new Float32Array(count * size);
  for (let r = 0; r < input.examplesPerInstance; r++) {
    for (let i = 0; i < k; i++) {
      const e = r * k + i;
      sources[e] = i;
      targets[e] = drawTarget(input.labels[i], input.numClasses, rng);
      const start =
        options.randomStart === 'in-ball'
          ? randomInBall(size, options.epsilon, rng)
          : uniformImageStart(input.images.subarray(i * size, (i + 1) * size), options.epsilon, rng);
      starts.set(start, e * size);
    }
  }
  return { targets, sources, starts };
}

/**
 * Attacks examples [begin, end) of the plan in chunks of options.chunkSize; returns their images
 * and the classes the model predicts for them. `onStep` is called after every PGD step.
 */
export async function attackRange(
  model: tfTypes.LayersModel,
  input: Pick<AttackInput, 'images' | 'imageShape'>,
  plan: AttackPlan,
  begin: number,
  end: number,
  options: AttackOptions,
  signal?: AbortSignal,
  onStep?: (p: AttackProgress) => void,
): Promise<{ images: Float32Array; predicted: Int32Array }> {
  const { imageShape } = input;
  const size = imageShape[0] * imageShape[1] * imageShape[2];
  const images = new Float32Array((end - begin) * size);
  const predicted = new Int32Array(end - begin);
  const chunks = Math.ceil((end - begin) / options.chunkSize);
  for (let c = 0; c < chunks; c++) {
    const from = begin + c * options.chunkSize;
    const n = Math.min(options.chunkSize, end - from);
    const xData = new Float32Array(n * size);
    for (let j = 0; j < n; j++) xData.set(input.images.subarray(plan.sources[from + j] * size, (plan.sources[from + j] + 1) * size), j * size);
    const x = tf.tensor4d(xData, [n, ...imageShape]);
    const t = tf.tensor1d(plan.targets.subarray(from, from + n), 'int32');
    // The start is clipped into the image box like every later iterate (for uniform-image it already lies there, up to rounding).
    let delta = tf.tidy(() =>
      tf.sub(tf.clipByValue(tf.add(x, tf.tensor4d(plan.starts.subarray(from * size, (from + n) * size), [n, ...imageShape])), 0, 1), x),
    ) as tfTypes.Tensor4D;
    try {
      for (let s = 0; s < options.steps; s++) {
        throwIfAborted(signal);
        const next = pgdStep(model, x, delta, t, options.epsilon, options.stepSize);
        delta.dispose();
        delta = next;
        onStep?.({ step: s + 1, steps: options.steps, chunk: c + 1, chunks });
        // Let the event loop deliver cancellation and progress between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const [adv, pred] = tf.tidy(() => {
        const a = tf.clipByValue(tf.add(x, delta), 0, 1);
        return [a, tf.argMax(logits(model, a, false, true), 1)];
      });
      images.set(await adv.data(), (from - begin) * size);
      predicted.set(await pred.data(), from - begin);
      adv.dispose();
      pred.dispose();
    } finally {
      delta.dispose();
      x.dispose();
      t.dispose();
    }
  }
  return { images, predicted };
}

/** Makes the adversarial set in this thread (see attackPool.ts for the parallel version). */
export async function targetedL2Pgd(
  model: tfTypes.LayersModel,
  input: AttackInput,
  options: AttackOptions,
  rng: Rng,
  signal?: AbortSignal,
  onProgress?: (p: AttackProgress) => void,
): Promise<AdversarialSet> {
  const plan = planAttack(input, options, rng);
  const { images, predicted } = await attackRange(model, input, plan, 0, plan.targets.length, options, signal, onProgress);
  return { images, targets: plan.targets, sources: plan.sources, predicted };
}
