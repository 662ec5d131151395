/**
 * The model inspector's figures, computed in the engine worker (never on the extension host's
 * thread): layers, output shapes, parameter counts and per-tensor weight statistics of a Layers
 * model as it is on disk; and, for chosen images, which weights they rely on (MAS importance, the
 * same measure IMP uses) before any unlearning; and a run's adversarial examples made again for its
 * report (they are never saved). Nothing is written.
 */
import * as path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from '../core/tf';
import { invertedImportance, masImportance } from '../core/importance';
import { perUnitMean } from '../core/metrics';
import { predictClasses } from '../core/modelState';
import { loadModel, modelFromArtifacts, readModelArtifacts } from '../data/modelIo';
import { readImage } from '../data/imageFolder';
import { type ResizeMode, resolveOptions } from '../../contracts/options';
import { throwIfAborted, UserInputError } from '../../contracts/errors';
import { checkModelContract, checkShapes, checkTopology, modelContractText, ModelContractError } from '../../contracts/modelContract';
import type { ImportanceSummary, LayerSummary, ModelSummary, WeightStats } from '../../contracts/inspect';
import type { AdversarialJob, AdversarialPreview } from '../../contracts/protocol';
import { makeAdversarialSet } from '../core/unlearn';
import { parallelTargetedL2Pgd } from '../runtime/attackPool';
import { adversarialPreview } from './request';
import { startBackend } from './jobs';

/** mean, std, min, max and the share of exact zeros, in one pass (float64 sums). */
export function weightStats(values: ArrayLike<number>): WeightStats {
  const n = values.length;
  if (n === 0) return { count: 0, mean: 0, std: 0, min: 0, max: 0, zeros: 0 };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v === 0) zeros++;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  return { count: n, mean, std: Math.sqrt(sq / n), min, max, zeros: zeros / n };
}

const shapeOf = (layer: tfTypes.layers.Layer): LayerSummary['outputShape'] => {
  try {
    const s = layer.outputShape as Array<number | null> | Array<Array<number | null>>;
    return Array.isArray(s[0]) ? (s as Array<Array<number | null>>).map((x) => x.slice(1)) : (s as Array<number | null>).slice(1);
  } catch {
    return []; // a layer used at several places has no single output shape
  }
};

/**
 * Statistics of every weight straight from the bytes on disk (no tensor, no backend), by name;
 * undefined when a weight is stored quantized or not as float32 (then they are read from the model).
 */
export function statsFromArtifacts(artifacts: tfTypes.io.ModelArtifacts): Map<string, WeightStats> | undefined {
  const data = artifacts.weightData;
  if (!(data instanceof ArrayBuffer) || !artifacts.weightSpecs) return undefined;
  const stats = new Map<string, WeightStats>();
  let offset = 0;
  for (const spec of artifacts.weightSpecs) {
    if (spec.dtype !== 'float32' || spec.quantization) return undefined;
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + 4 * n > data.byteLength) return undefined;
    stats.set(spec.name, weightStats(new Float32Array(data, offset, n)));
    offset += 4 * n;
  }
  return stats;
}

/** `backendReady`: the backend starting meanwhile (reading the files and the statistics do not need it). */
export async function inspectModel(modelPath: string, backendReady?: Promise<unknown>): Promise<ModelSummary> {
  const file = path.resolve(modelPath);
  const t0 = performance.now();
  const read = readModelArtifacts(file).then((a) => ({ artifacts: a, onDisk: statsFromArtifacts(a) }));
  const [{ artifacts, onDisk }] = await Promise.all([read, backendReady]);
  // As on disk (a trailing softmax kept): the inspector shows the model the user has.
  const model = await modelFromArtifacts(artifacts, file);
  const t1 = performance.now();
  try {
    let contract: ModelSummary['contract'];
    try {
      const facts = checkTopology(artifacts.modelTopology, file);
      const shapes = checkShapes(model.inputs[0].shape, model.outputs[0].shape, file);
      contract = { ok: true, text: modelContractText(checkModelContract(facts, shapes, model.countParams())) };
    } catch (e) {
      if (!(e instanceof ModelContractError)) throw e;
      contract = { ok: false, problem: e.message };
    }
    const trainable = new Set(model.trainableWeights.map((w) => w.originalName));
    const layers: LayerSummary[] = [];
    for (const layer of model.layers) {
      const weights = [];
      for (const w of layer.weights) {
        const stats = onDisk?.get(w.originalName) ?? weightStats((await w.read().data()) as Float32Array);
        weights.push({ name: w.originalName, shape: [...w.shape] as number[], trainable: trainable.has(w.originalName), stats });
      }
      layers.push({ name: layer.name, className: layer.getClassName(), outputShape: shapeOf(layer), parameters: layer.countParams(), weights });
    }
    const trainableParameters = model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
    return {
      file,
      ...(artifacts.generatedBy ? { generatedBy: artifacts.generatedBy } : {}),
      ...(artifacts.convertedBy ? { convertedBy: artifacts.convertedBy } : {}),
      inputShape: model.inputs[0].shape.slice(1),
      outputShape: model.outputs[0].shape.slice(1),
      parameters: model.countParams(),
      trainableParameters,
      layers,
      contract,
      seconds: { load: (t1 - t0) / 1000, stats: (performance.now() - t1) / 1000 },
    };
  } finally {
    model.dispose();
  }
}

/** Which units the given images rely on, before unlearning: MAS importance as IMP computes it (on these images instead of a forget set). */
export async function imageImportance(modelPath: string, images: readonly string[], resize: ResizeMode, signal?: AbortSignal): Promise<ImportanceSummary> {
  if (images.length === 0) throw new UserInputError('Choose at least one image to compute which weights it relies on.');
  const t0 = performance.now();
  const loaded = await loadModel(modelPath);
  try {
    const shape = loaded.model.inputs[0].shape;
    const imageShape: [number, number, number] = [shape[1] ?? 0, shape[2] ?? 0, shape[3] ?? 0];
    const size = imageShape[0] * imageShape[1] * imageShape[2];
    const pixels = new Float32Array(images.length * size);
    for (let i = 0; i < images.length; i++) {
      throwIfAborted(signal);
      pixels.set(await readImage(images[i], { imageShape, resize }), i * size);
    }
    const x = tf.tensor4d(pixels, [images.length, ...imageShape]);
    try {
      const { names, omega } = masImportance(loaded.model, x);
      const reliance = tf.tidy(() => {
        const inverted = invertedImportance(omega);
        return inverted.map((w) => tf.sub(1, w));
      });
      tf.dispose(omega);
      try {
        const units = await perUnitMean(reliance);
        const predicted = Array.from(await predictClasses(loaded.model, pixels, imageShape));
        return {
          images: [...images],
          imageShape,
          tensors: names.map((name, i) => ({ name, units: units[i] })),
          predicted,
          seconds: (performance.now() - t0) / 1000,
        };
      } finally {
        tf.dispose(reliance);
      }
    } finally {
      x.dispose();
    }
  } finally {
    loaded.model.dispose();
  }
}

/**
 * A run's adversarial examples, made again: the attack of the run (its seed and attack settings) on
 * its instances, from the model it started from. The attack is deterministic, so these are the
 * examples the run trained with. An instance that cannot be read any more is an error naming it.
 */
export async function regenerateAdversarial(job: AdversarialJob, signal?: AbortSignal): Promise<AdversarialPreview> {
  if (job.instances.length === 0) throw new UserInputError('The run has no instances to make adversarial examples for.');
  await startBackend(job.backend);
  const loaded = await loadModel(job.modelPath);
  try {
    const shape = loaded.model.inputs[0].shape;
    const imageShape: [number, number, number] = [shape[1] ?? 0, shape[2] ?? 0, shape[3] ?? 0];
    const size = imageShape[0] * imageShape[1] * imageShape[2];
    const images = new Float32Array(job.instances.length * size);
    for (let i = 0; i < job.instances.length; i++) {
      const file = job.instances[i].file;
      try {
        images.set(await readImage(file, { imageShape, resize: job.resize }), i * size);
      } catch (e) {
        throw new UserInputError(
          `Cannot make the run's adversarial examples again: ${(e as Error).message} (the instance was moved, deleted or changed since the run; put it back ` +
            `to see its examples).`,
          file,
        );
      }
    }
    const forget = { images, labels: Int32Array.from(job.instances.map((i) => i.label)), imageShape, numClasses: loaded.model.outputs[0].shape[1] ?? 0 };
    const set = await makeAdversarialSet(loaded.model, forget, resolveOptions(job.options), { signal, attack: parallelTargetedL2Pgd });
    return adversarialPreview(forget, set);
  } finally {
    loaded.model.dispose();
  }
}
