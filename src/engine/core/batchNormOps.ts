/**
 * The full-size passes of BatchNorm in training mode (core/forward.ts), as ops that a backend may
 * run fused.
 *
 * Each function is written here as the TensorFlow.js ops it stands for. On the wasm backend the
 * project registers a kernel under each name in BATCH_NORM_KERNELS (runtime/kernels/wasmConvGrads.ts,
 * native/conv.c) that does the same float operations on every element in the same order, in one
 * pass instead of several, so its results are bit for bit those of the ops; every other backend
 * runs the ops. Used inside custom gradients only: the kernels have no gradients of their own.
 *
 * Per-channel sums are written as ones [n, 1] (transposed) times m [n, C]: wasm reduces over leading
 * axes by transposing first, and its plain matMul loop is the faster (and more accurate) sum; the
 * kernels sum in that loop's order.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';

type Tensor2D = tfTypes.Tensor2D;
type Tensor = tfTypes.Tensor;

export const BATCH_NORM_KERNELS = {
  columnSums: 'UnlearnLensColumnSums',
  centeredSquareSums: 'UnlearnLensCenteredSquareSums',
  normalize: 'UnlearnLensBatchNormNormalize',
  columnSumsOfProduct: 'UnlearnLensColumnSumsOfProduct',
  inputGradient: 'UnlearnLensBatchNormInputGradient',
} as const;

let fusionOn: () => boolean = () => true;

/** Set by the backend that registers the kernels: whether they can run now (they may need a module bound to its memory). */
export function setBatchNormFusion(check: () => boolean): void {
  fusionOn = check;
}

function fused(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined && fusionOn();
}

function run<T extends Tensor | Tensor[]>(name: string, inputs: Record<string, Tensor>): T {
  return tf.engine().runKernel(name, inputs as unknown as tfTypes.NamedTensorMap, {}) as unknown as T;
}

const ones = (m: Tensor2D) => tf.ones([m.shape[0], 1]) as Tensor2D;

/** The columns of m [n, C] summed: [1, C]. */
export function columnSums(m: Tensor2D): Tensor2D {
  if (fused(BATCH_NORM_KERNELS.columnSums)) return run(BATCH_NORM_KERNELS.columnSums, { x: m });
  return tf.tidy(() => tf.matMul(ones(m), m, true, false));
}

/** columnSums((x - mean)^2), mean [1, C]: the variance's numerator. */
export function centeredSquareSums(x: Tensor2D, mean: Tensor): Tensor2D {
  if (fused(BATCH_NORM_KERNELS.centeredSquareSums)) return run(BATCH_NORM_KERNELS.centeredSquareSums, { x, mean });
  return tf.tidy(() => columnSums(tf.square(tf.sub(x, mean)) as Tensor2D));
}

/** [xhat, y]: xhat = (x - mean) * rstd, y = xhat * gamma + beta (per-channel mean, rstd, gamma, beta). */
export function normalize(x: Tensor2D, mean: Tensor, rstd: Tensor, gamma: Tensor, beta: Tensor): [Tensor2D, Tensor2D] {
  if (fused(BATCH_NORM_KERNELS.normalize)) return run(BATCH_NORM_KERNELS.normalize, { x, mean, rstd, gamma, beta });
  const xhat = tf.mul(tf.sub(x, mean), rstd) as Tensor2D;
  return [xhat, tf.tidy(() => tf.add(tf.mul(xhat, gamma), beta) as Tensor2D)];
}

/** columnSums(a * b). */
export function columnSumsOfProduct(a: Tensor2D, b: Tensor2D): Tensor2D {
  if (fused(BATCH_NORM_KERNELS.columnSumsOfProduct)) return run(BATCH_NORM_KERNELS.columnSumsOfProduct, { a, b });
  return tf.tidy(() => columnSums(tf.mul(a, b) as Tensor2D));
}

/** dx = scale * ((dy - meanDy) - xhat * meanDyXhat), per-channel scale, meanDy, meanDyXhat. */
export function inputGradient(dy: Tensor2D, xhat: Tensor2D, meanDy: Tensor, meanDyXhat: Tensor, scale: Tensor): Tensor2D {
  if (fused(BATCH_NORM_KERNELS.inputGradient)) return run(BATCH_NORM_KERNELS.inputGradient, { dy, xhat, meanDy, meanDyXhat, scale });
  return tf.tidy(() => tf.mul(scale, tf.sub(tf.sub(dy, meanDy), tf.mul(xhat, meanDyXhat))) as Tensor2D);
}
