/**
 * Per-channel sums for BatchNorm: the columns of m [n, C] summed into [1, C].
 *
 * Written as ones [n, 1] (transposed) times m: wasm reduces over leading axes by transposing
 * first, and its plain matMul loop is the faster (and more accurate) sum. On the wasm backend the
 * project registers a kernel under COLUMN_SUMS_KERNEL (runtime/kernels/wasmConvGrads.ts) that
 * gives that matMul's result bit for bit, in SIMD lanes; every other backend runs the matMul.
 * Used inside custom gradients only: the kernel has no gradient of its own.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';

export const COLUMN_SUMS_KERNEL = 'UnlearnLensColumnSums';

export function columnSums(m: tfTypes.Tensor2D): tfTypes.Tensor2D {
  if (tf.getKernel(COLUMN_SUMS_KERNEL, tf.getBackend())) return tf.engine().runKernel(COLUMN_SUMS_KERNEL, { x: m }, {}) as tfTypes.Tensor2D;
  return tf.tidy(() => tf.matMul(tf.ones([m.shape[0], 1]) as tfTypes.Tensor2D, m, true, false));
}
