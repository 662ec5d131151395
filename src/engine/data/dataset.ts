/**
 * The one shape every data format is read into: images as floats in [0, 1], NHWC, with integer
 * labels. Formats (IDX, image folders, manifests, CIFAR batches) only differ in how they get here.
 */
export interface Dataset {
  /** For logs and run records: where it came from. */
  name: string;
  /** [height, width, channels] of one image. */
  imageShape: [number, number, number];
  /** count * h * w * c values in [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
  classNames: string[];
}

export const datasetSize = (d: Dataset): number => d.labels.length;
export const imageSize = (d: Dataset): number => d.imageShape[0] * d.imageShape[1] * d.imageShape[2];

/** Rows of `rowSize` values (images, probability vectors) at `indices`, copied, in that order. */
export function gatherRows(values: Float32Array, rowSize: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * rowSize);
  for (let j = 0; j < indices.length; j++) out.set(values.subarray(indices[j] * rowSize, (indices[j] + 1) * rowSize), j * rowSize);
  return out;
}

/** The instances at `indices`, copied, in that order. */
export function subset(d: Dataset, indices: readonly number[], name = d.name): Dataset {
  const size = imageSize(d);
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  indices.forEach((index, i) => {
    if (!(index >= 0 && index < d.labels.length)) throw new RangeError(`Index ${index} is outside ${d.name} (0..${d.labels.length - 1}).`);
    images.set(d.images.subarray(index * size, (index + 1) * size), i * size);
    labels[i] = d.labels[index];
  });
  return { name, imageShape: d.imageShape, images, labels, classNames: d.classNames };
}

/** All indices except `excluded`, in order. */
export function complement(count: number, excluded: readonly number[]): number[] {
  const drop = new Set(excluded);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) if (!drop.has(i)) kept.push(i);
  return kept;
}
