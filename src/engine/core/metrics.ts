/**
 * What a run did to the model: accuracy on each split, and how far each weight moved.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { asImages, logits, predictClasses } from './modelState';
import { crossEntropyPerExample } from './objectives';
import type { Dataset } from '../data/dataset';

/** Fraction of `labels` the model predicts (inference mode). 0 for an empty set. */
export async function accuracy(model: tfTypes.LayersModel, images: Float32Array, labels: Int32Array, imageShape: [number, number, number]): Promise<number> {
  if (labels.length === 0) return 0;
  const predicted = await predictClasses(model, images, imageShape);
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return hits / labels.length;
}

export const datasetAccuracy = (model: tfTypes.LayersModel, d: Dataset): Promise<number> => accuracy(model, d.images, d.labels, d.imageShape);

/** Accuracy on the three splits a run is judged by. */
export interface Accuracies {
  forget: number;
  retain: number;
  test: number;
}

export async function accuracies(model: tfTypes.LayersModel, forget: Dataset, retain: Dataset, test: Dataset): Promise<Accuracies> {
  return { forget: await datasetAccuracy(model, forget), retain: await datasetAccuracy(model, retain), test: await datasetAccuracy(model, test) };
}

/** Predictions and per-sample losses of one model on one split. */
export interface SplitReading {
  predictions: Int32Array;
  losses: Float32Array;
}

/** One pass over `d`: predicted classes and cross-entropy of each instance. */
export async function readSplit(model: tfTypes.LayersModel, d: Pick<Dataset, 'images' | 'labels' | 'imageShape'>, chunk = 512): Promise<SplitReading> {
  const shape = d.imageShape;
  const size = shape[0] * shape[1] * shape[2];
  const n = d.labels.length;
  const predictions = new Int32Array(n);
  const losses = new Float32Array(n);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const both = tf.tidy(() => {
      const z = logits(model, asImages(d.images.subarray(start * size, (start + m) * size), m, shape), false, true);
      const loss = crossEntropyPerExample(z, tf.tensor1d(d.labels.subarray(start, start + m), 'int32'));
      return tf.stack([tf.cast(tf.argMax(z, 1), 'float32'), loss]);
    });
    const values = await both.data();
    both.dispose();
    for (let i = 0; i < m; i++) {
      predictions[start + i] = values[i];
      losses[start + i] = values[m + i];
    }
  }
  return { predictions, losses };
}

export function accuracyOf(predictions: Int32Array, labels: Int32Array): number {
  if (labels.length === 0) return 0;
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) hits++;
  return hits / labels.length;
}

export interface LayerChange {
  /** Weight name, e.g. `conv2/kernel`. */
  name: string;
  /** ||theta - theta0||_2 */
  delta: number;
  /** ||theta - theta0||_2 / ||theta0||_2 (0 when theta0 = 0). */
  relative: number;
  /**
   * ||theta - theta0||_2 of each output unit: the slices along the tensor's last axis (a conv
   * filter, a dense unit, a BatchNorm channel). 4 significant digits.
   */
  units: number[];
  /**
   * IMP runs only: the forget set's MAS importance of each output unit, normalised per tensor as
   * IMP does (0: the forget set does not rely on these weights, 1: the most it does), averaged over
   * the unit's weights. 1 - this is how freely IMP let them move. 4 significant digits.
   */
  importance?: number[];
}

const significant = (values: ArrayLike<number>): number[] => Array.from(values, (v) => Number(v.toPrecision(4)));

/** Mean over every axis but the last of each tensor: one value per output unit. */
export async function perUnitMean(tensors: readonly tfTypes.Tensor[]): Promise<number[][]> {
  const means = tf.tidy(() => tensors.map((t) => (t.rank <= 1 ? t.reshape([-1]) : tf.mean(t.reshape([-1, t.shape[t.rank - 1]]), 0))));
  try {
    return await Promise.all(means.map(async (m) => significant(await m.data())));
  } finally {
    tf.dispose(means);
  }
}

export async function layerChanges(
  names: readonly string[],
  before: readonly tfTypes.Tensor[],
  after: readonly tfTypes.Tensor[],
  importance?: readonly number[][],
): Promise<LayerChange[]> {
  const norms = tf.tidy(() => tf.stack(before.flatMap((b, i) => [tf.norm(tf.sub(after[i], b)), tf.norm(b)])));
  const units = tf.tidy(() =>
    before.map((b, i) => {
      const d = tf.sub(after[i], b);
      return d.rank <= 1 ? tf.abs(d.reshape([-1])) : tf.sqrt(tf.sum(tf.square(d.reshape([-1, d.shape[d.rank - 1]])), 0));
    }),
  );
  try {
    const values = await norms.data();
    const perUnit = await Promise.all(units.map(async (u) => significant(await u.data())));
    return names.map((name, i) => ({
      name,
      delta: values[2 * i],
      relative: values[2 * i + 1] > 0 ? values[2 * i] / values[2 * i + 1] : 0,
      units: perUnit[i],
      ...(importance ? { importance: importance[i] } : {}),
    }));
  } finally {
    norms.dispose();
    tf.dispose(units);
  }
}
