/**
 * The views' questions to a model, answered in the engine worker: the model's prediction for each
 * image a view shows, and the pre-flight estimate (src/engine/core/unseen.ts) for instances the
 * user may forget. Images that cannot be read are left out by position (null), never fatal;
 * nothing is written.
 */
import { throwIfAborted } from '../../contracts/errors';
import type { LabelledFile, PredictJob, PredictResult, PreflightJob, PreflightResult } from '../../contracts/protocol';
import { predictClasses } from '../core/modelState';
import { unseenTargets, type LabelledImages } from '../core/unseen';
import { loadModel } from '../data/modelIo';
import { readImage, type ImageLoadOptions } from '../data/imageFolder';
import { loadLabelledData, modelInputShape, startBackend } from './jobs';

/** The images that can be read, packed, and the position in `files` of each. */
async function readable(files: readonly string[], options: ImageLoadOptions, signal?: AbortSignal): Promise<{ images: Float32Array; at: number[] }> {
  const [h, w, c] = options.imageShape;
  const size = h * w * c;
  const images = new Float32Array(files.length * size);
  const at: number[] = [];
  for (let i = 0; i < files.length; i++) {
    throwIfAborted(signal);
    try {
      images.set(await readImage(files[i], options), at.length * size);
      at.push(i);
    } catch {
      // left out: null in its place
    }
  }
  return { images: images.slice(0, at.length * size), at };
}

async function labelled(items: readonly LabelledFile[], options: ImageLoadOptions, signal?: AbortSignal): Promise<{ set: LabelledImages; at: number[] }> {
  const { images, at } = await readable(
    items.map((i) => i.file),
    options,
    signal,
  );
  return { set: { images, labels: Int32Array.from(at.map((i) => items[i].label)), imageShape: options.imageShape }, at };
}

export async function runPredict(job: PredictJob, signal?: AbortSignal): Promise<PredictResult> {
  await startBackend(job.backend);
  const options: ImageLoadOptions = { imageShape: await modelInputShape(job.modelPath), resize: job.resize };
  const { images, at } = await readable(job.files, options, signal);
  const predictions: Array<number | null> = job.files.map(() => null);
  if (at.length === 0) return { predictions };
  const loaded = await loadModel(job.modelPath);
  try {
    throwIfAborted(signal);
    const predicted = await predictClasses(loaded.model, images, options.imageShape);
    at.forEach((i, j) => (predictions[i] = predicted[j]));
    return { predictions };
  } finally {
    loaded.model.dispose();
  }
}

export async function runPreflight(job: PreflightJob, signal?: AbortSignal): Promise<PreflightResult> {
  await startBackend(job.backend);
  const options: ImageLoadOptions = { imageShape: await modelInputShape(job.modelPath), resize: job.resize };
  const { set: forget, at } = await labelled(job.instances, options, signal);
  const instances: PreflightResult['instances'] = job.instances.map((i) => ({ file: i.file, verdict: null, stillCorrect: null }));
  if (at.length === 0) return { heldOutSource: 'none', instances };
  const members = job.members?.length ? (await labelled(job.members, options, signal)).set : undefined;
  const heldOut = job.testData ? await loadLabelledData(job.testData, options, 'test') : undefined;
  const loaded = await loadModel(job.modelPath);
  try {
    throwIfAborted(signal);
    const estimate = await unseenTargets(loaded.model, forget, {
      ...(members?.labels.length ? { members } : {}),
      ...(heldOut?.labels.length ? { heldOut } : {}),
    });
    at.forEach((i, j) => {
      const e = estimate.instances[j];
      instances[i] = { file: job.instances[i].file, verdict: e.verdict, stillCorrect: e.stillCorrect };
    });
    return { heldOutSource: estimate.heldOutSource, instances };
  } finally {
    loaded.model.dispose();
  }
}
