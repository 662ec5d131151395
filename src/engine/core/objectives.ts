/**
 * The losses of the method, named after the maths (Cha et al., AAAI 2024).
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';

type Tensor = tfTypes.Tensor;
type Scalar = tfTypes.Scalar;

/** Per-example cross-entropy of integer `labels` under `logits` [n, classes]. */
export function crossEntropyPerExample(logits: Tensor, labels: Tensor): Tensor {
  const logProbs = tf.logSoftmax(logits as tfTypes.Tensor2D);
  const oneHot = tf.oneHot(labels.toInt() as tfTypes.Tensor1D, logits.shape[1]!);
  return tf.neg(tf.sum(tf.mul(oneHot, logProbs), 1));
}

/** Mean cross-entropy, as torch.nn.CrossEntropyLoss. */
export function crossEntropy(logits: Tensor, labels: Tensor): Scalar {
  return tf.mean(crossEntropyPerExample(logits, labels)) as Scalar;
}

/** The forget term: -CE(f(x_f), y_f) (misclassify) or +CE(f(x_f), y'_f) (relabel). */
export function forgetLoss(logits: Tensor, labels: Tensor, relabel: boolean): Scalar {
  const ce = crossEntropy(logits, labels);
  return relabel ? ce : (tf.neg(ce) as Scalar);
}

/** The logits with each example's own class (one-hot) pushed out of reach, so max/argMax give the best other class. */
export function maskOwnClass(logits: Tensor, oneHot: Tensor): Tensor {
  return tf.add(logits, tf.mul(oneHot, -1e9));
}

/** z_y and the largest other logit, per example. */
function trueAndBestOther(logits: Tensor, labels: Tensor): { trueLogit: Tensor; bestOther: Tensor; bestOtherClass: Tensor } {
  const oneHot = tf.oneHot(labels.toInt() as tfTypes.Tensor1D, logits.shape[1]!);
  const trueLogit = tf.sum(tf.mul(oneHot, logits), 1);
  const others = maskOwnClass(logits, oneHot);
  return { trueLogit, bestOther: tf.max(others, 1), bestOtherClass: tf.argMax(others, 1) };
}

/**
 * The bounded forget terms (see options.ts, ForgetTerm): alternatives to the paper's unbounded -CE. All are means over the batch,
 * so a batch weight in the paired ADV loss means the same as for -CE.
 */
export function boundedForgetLoss(kind: 'remembered-ce' | 'margin' | 'nearest-ce', logits: Tensor, labels: Tensor, margin: number): Scalar {
  const { trueLogit, bestOther, bestOtherClass } = trueAndBestOther(logits, labels);
  if (kind === 'margin') return tf.mean(tf.relu(tf.add(tf.sub(trueLogit, bestOther), margin))) as Scalar;
  if (kind === 'nearest-ce') return crossEntropy(logits, bestOtherClass);
  // remembered-ce: push only instances the model still gives their label (by the margin).
  const remembered = tf.cast(tf.greaterEqual(tf.add(tf.sub(trueLogit, bestOther), margin), 0), 'float32');
  return tf.neg(tf.mean(tf.mul(remembered, crossEntropyPerExample(logits, labels)))) as Scalar;
}

/**
 * ADV: the forget term and the adversarial term weighted by their batch sizes,
 * [b_f * forget + b_a * CE(f(x_a), t_a)] / (b_f + b_a).
 */
export function pairedLoss(forget: Scalar, forgetCount: number, adversarialCe: Scalar, adversarialCount: number): Scalar {
  const total = forgetCount + adversarialCount;
  return tf.add(tf.mul(forget, forgetCount / total), tf.mul(adversarialCe, adversarialCount / total)) as Scalar;
}

/** IMP: lambda * sum_l sum(w_l * (theta_l - theta0_l)^2) / 2. */
export function importancePenalty(params: readonly Tensor[], anchors: readonly Tensor[], weights: readonly Tensor[], lambda: number): Scalar {
  const terms = params.map((p, i) => tf.sum(tf.mul(weights[i], tf.squaredDifference(p, anchors[i]))));
  return tf.mul(tf.addN(terms), lambda / 2) as Scalar;
}

/** MAS objective: mean over the batch of the L2 norm of each logit vector (not squared, no labels). */
export function masObjective(logits: Tensor): Scalar {
  return tf.mean(tf.norm(logits, 'euclidean', 1)) as Scalar;
}
