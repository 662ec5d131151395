/**
 * The gradient of FusedBatchNorm without `tile`.
 *
 * tfjs-core's gradient tiles 1/sqrt(var+eps) to the full activation shape before multiplying; on
 * the wasm backend that Tile was the single largest cost of a training step of a BatchNorm CNN
 * (1.2-1.6 s of ~4 s at batch 256). Broadcasting gives the same numbers without the copy.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { bundledTf as tf } from '../../core/tf';
import { columnSums } from '../../core/batchNormOps';

let registered = false;

export function registerBatchNormGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy: tfTypes.Tensor | tfTypes.Tensor[], saved: tfTypes.Tensor[], attrs: tfTypes.NamedAttrMap) => {
      const grad = dy as tfTypes.Tensor;
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      const [x, mean, variance, scale] = saved;
      const scaleValue = scale ?? tf.scalar(1);
      // Per-channel sums as ones [n, 1]^T x [n, C] (columnSums): wasm's Sum over leading axes
      // transposes first (~2.3x slower at [320, 28, 28, 16]).
      const channels = x.shape[x.rank - 1];
      const rows = x.size / channels;
      const reduce = (t: tfTypes.Tensor) => (mean.rank === 1 ? columnSums(tf.reshape(t, [rows, channels]) as tfTypes.Tensor2D) : t).reshape(mean.shape);
      const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const xMinusMean = () => tf.sub(x, mean);
      return {
        x: () => tf.mul(grad, tf.mul(rstd, scaleValue)).reshape(x.shape),
        mean: () => reduce(tf.mul(grad, tf.mul(tf.neg(rstd), scaleValue))),
        variance: () => reduce(tf.mul(tf.mul(grad, xMinusMean()), tf.mul(tf.mul(tf.pow(rstd, tf.scalar(3)), tf.scalar(-0.5)), scaleValue))),
        scale: () => reduce(tf.mul(grad, tf.mul(xMinusMean(), rstd))),
        offset: () => reduce(grad),
      };
    },
  });
}
