/**
 * IMP: which weights the forget set relies on (MAS, computed on D_f only, as in the paper).
 *
 *   Omega = | d/d theta  mean_i ||f(x_i)||_2 |      (train-mode BatchNorm, as the reference)
 *   w     = 1 - (Omega - min Omega) / (max Omega - min Omega)     per parameter tensor
 *
 * Weights important to D_f get w near 0 and move freely; the rest are anchored to theta0.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { masObjective } from './objectives';
import { allVariables, logits, restore, snapshot, trainableParameters } from './modelState';

export interface Importance {
  names: string[];
  /** |gradient| per parameter tensor, in trainableWeights order. */
  omega: tfTypes.Tensor[];
}

export function masImportance(model: tfTypes.LayersModel, x: tfTypes.Tensor4D): Importance {
  const params = trainableParameters(model);
  // Train mode would also move BatchNorm's moving averages: importance must not change the model.
  const variables = allVariables(model);
  const saved = snapshot(variables);
  try {
    const omega = tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => masObjective(logits(model, x, true)),
        params.map((p) => p.variable),
      );
      return params.map((p) => tf.abs(grads[p.variable.name] ?? tf.zerosLike(p.variable)));
    });
    return { names: params.map((p) => p.name), omega };
  } finally {
    restore(variables, saved);
    tf.dispose(saved);
  }
}

/** Per-tensor min-max normalisation, inverted. A constant tensor (max = min) gets w = 1. */
export function invertedImportance(omega: readonly tfTypes.Tensor[]): tfTypes.Tensor[] {
  return omega.map((o) =>
    tf.tidy(() => {
      const min = tf.min(o);
      const range = tf.sub(tf.max(o), min);
      const normalised = tf.where(tf.greater(range, 0), tf.div(tf.sub(o, min), tf.maximum(range, 1e-30)), tf.zerosLike(o));
      return tf.sub(1, normalised);
    }),
  );
}
