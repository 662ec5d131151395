/**
 * What a run did to the model: accuracy on each split, and how far each weight moved.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { predictClasses } from './modelState';
import type { Dataset } from './data/dataset';

/** Fraction of `labels` the model predicts (inference mode). 0 for an empty set. */
export async function accuracy(model: tfTypes.LayersModel, images: Float32Array, labels: Int32Array, imageShape: [number, number, number]): Promise<number> {
  if (labels.length === 0) return 0;
  const predicted = await predictClasses(model, images, imageShape);
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return hits / labels.length;
}

export const datasetAccuracy = (model: tfTypes.LayersModel, d: Dataset): Promise<number> => accuracy(model, d.images, d.labels, d.imageShape);

export interface LayerChange {
  /** Weight name, e.g. `conv2/kernel`. */
  name: string;
  /** ||theta - theta0||_2 */
  delta: number;
  /** ||theta - theta0||_2 / ||theta0||_2 (0 when theta0 = 0). */
  relative: number;
}

export async function layerChanges(names: readonly string[], before: readonly tfTypes.Tensor[], after: readonly tfTypes.Tensor[]): Promise<LayerChange[]> {
  const norms = tf.tidy(() => tf.stack(before.flatMap((b, i) => [tf.norm(tf.sub(after[i], b)), tf.norm(b)])));
  const values = await norms.data();
  norms.dispose();
  return names.map((name, i) => ({ name, delta: values[2 * i], relative: values[2 * i + 1] > 0 ? values[2 * i] / values[2 * i + 1] : 0 }));
}
