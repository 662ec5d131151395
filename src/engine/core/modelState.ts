/**
 * Reading and restoring a Layers model's parameters as plain tensors: theta0 for the penalty,
 * snapshots for rollback, and forward passes in a chosen BatchNorm mode.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { compileForward, type ForwardFn } from './forward';
import { maskOwnClass } from './objectives';

export interface Parameter {
  /** The weight's name in the model, e.g. `conv1/kernel`. */
  name: string;
  variable: tfTypes.Variable;
}

export function trainableParameters(model: tfTypes.LayersModel): Parameter[] {
  return model.trainableWeights.map((w) => ({ name: w.originalName, variable: w.read() as tfTypes.Variable }));
}

/** Every weight, trainable or not (BatchNorm moving statistics included). */
export function allVariables(model: tfTypes.LayersModel): tfTypes.Variable[] {
  return model.weights.map((w) => w.read() as tfTypes.Variable);
}

/** Copies of the current values; the caller disposes them. */
export function snapshot(variables: readonly tfTypes.Variable[]): tfTypes.Tensor[] {
  return variables.map((v) => tf.clone(v));
}

export function restore(variables: readonly tfTypes.Variable[], values: readonly tfTypes.Tensor[]): void {
  variables.forEach((v, i) => v.assign(values[i]));
}

const compiled = new WeakMap<tfTypes.LayersModel, ForwardFn | null>();

/** Whether the model runs through our own forward pass (see forward.ts) or `model.apply`. */
export function forwardOf(model: tfTypes.LayersModel): ForwardFn | null {
  let fn = compiled.get(model);
  if (fn === undefined) {
    fn = compileForward(model) ?? null;
    compiled.set(model, fn);
  }
  return fn;
}

/**
 * Logits of `x`; `training` selects batch statistics (and updates BatchNorm's moving averages).
 * `frozen` (inference only) promises that no gradient with respect to the weights is taken, which
 * lets the forward fold BatchNorm into the convolutions (see forward.ts).
 */
export function logits(model: tfTypes.LayersModel, x: tfTypes.Tensor, training: boolean, frozen = false): tfTypes.Tensor2D {
  const fn = forwardOf(model);
  return (fn ? fn(x, training, frozen) : model.apply(x, { training })) as tfTypes.Tensor2D;
}

export function asImages(data: Float32Array, count: number, shape: readonly [number, number, number]): tfTypes.Tensor4D {
  return tf.tensor4d(data, [count, shape[0], shape[1], shape[2]]);
}

/** For each image, the class the model ranks highest after `labels[i]` (inference mode): relabel's "nearest". */
export async function nearestOtherClasses(
  model: tfTypes.LayersModel,
  images: Float32Array,
  labels: Int32Array,
  shape: readonly [number, number, number],
): Promise<number[]> {
  const nearest = tf.tidy(() => {
    const z = logits(model, asImages(images, labels.length, shape), false, true);
    const own = tf.oneHot(tf.tensor1d(labels, 'int32'), z.shape[1]!);
    return tf.argMax(maskOwnClass(z, own), 1);
  });
  const out = Array.from(await nearest.data());
  nearest.dispose();
  return out;
}

/** Predicted classes in inference mode, in chunks so memory stays flat. */
export async function predictClasses(
  model: tfTypes.LayersModel,
  images: Float32Array,
  shape: readonly [number, number, number],
  chunk = 512,
): Promise<Int32Array> {
  const size = shape[0] * shape[1] * shape[2];
  const count = images.length / size;
  const out = new Int32Array(count);
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const pred = tf.tidy(() => tf.argMax(logits(model, asImages(images.subarray(start * size, (start + n) * size), n, shape), false, true), 1));
    out.set(await pred.data(), start);
    pred.dispose();
  }
  return out;
}
