/**
 * TensorFlow.js Layers models on disk: `model.json` plus weight shards.
 *
 * Loading reads every shard the manifest names and checks sizes, so a broken model fails here,
 * with the file named, and not deep inside a run. Saving never touches the original: a result is
 * written to a temporary folder beside it and renamed into place, so a cancelled or crashed save
 * leaves nothing half-written.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { UserInputError } from './errors';

export interface LoadedModel {
  model: tfTypes.LayersModel;
  /** The artifacts as read, to make fresh copies of the original without touching disk again. */
  artifacts: tfTypes.io.ModelArtifacts;
  file: string;
  /** sha256 of model.json and the weights, for run records. */
  sha256: string;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

export async function readModelArtifacts(modelJsonPath: string): Promise<tfTypes.io.ModelArtifacts> {
  const file = path.resolve(modelJsonPath);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new UserInputError(`Cannot read the model ${file} (${(e as NodeJS.ErrnoException).code ?? e}). Select a TensorFlow.js model.json (Unlearn: Select Model…).`, file);
  }
  let json: { modelTopology?: unknown; weightsManifest?: Array<{ paths: string[]; weights: tfTypes.io.WeightsManifestEntry[] }>; format?: string; generatedBy?: string; convertedBy?: string | null; trainingConfig?: tfTypes.io.TrainingConfig };
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserInputError(`${file} is not valid JSON (${(e as Error).message}). Re-export the model with model.save(...) from TensorFlow.js.`, file);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UserInputError(`${file} is not a TensorFlow.js Layers model: it needs "modelTopology" and "weightsManifest". Graph models and Keras .h5 files must be converted with tensorflowjs_converter --output_format tfjs_layers_model.`, file);
  }
  const specs: tfTypes.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    const groupBuffers: Buffer[] = [];
    for (const shard of group.paths) {
      const shardPath = path.resolve(path.dirname(file), shard);
      try {
        groupBuffers.push(await fs.readFile(shardPath));
      } catch (e) {
        throw new UserInputError(`The weight shard ${shardPath}, listed in ${file}, cannot be read (${(e as NodeJS.ErrnoException).code ?? e}). Keep model.json and its .bin files together.`, shardPath);
      }
    }
    const expected = group.weights.reduce((n, w) => n + (w.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[w.dtype] ?? 4)), 0);
    const actual = groupBuffers.reduce((n, b) => n + b.length, 0);
    if (group.weights.some((w) => w.quantization)) {
      throw new UserInputError(`${file} stores quantized weights; unlearning needs float32 weights. Re-export without --quantize.`, file);
    }
    if (actual !== expected) {
      throw new UserInputError(`The weight shards of ${file} hold ${actual} bytes but the manifest describes ${expected}; a shard is truncated or from another model.`, file);
    }
    specs.push(...group.weights);
    buffers.push(...groupBuffers);
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: json.modelTopology as tfTypes.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
}

export function hashArtifacts(artifacts: tfTypes.io.ModelArtifacts): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(artifacts.modelTopology));
  h.update(JSON.stringify(artifacts.weightSpecs));
  const data = artifacts.weightData;
  const buffers = Array.isArray(data) ? data : data ? [data] : [];
  for (const b of buffers) h.update(new Uint8Array(b));
  return h.digest('hex');
}

export async function modelFromArtifacts(artifacts: tfTypes.io.ModelArtifacts, file = 'model'): Promise<tfTypes.LayersModel> {
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new UserInputError(`${file} could not be built as a Layers model: ${(e as Error).message}`, file);
  }
}

export async function loadModel(modelJsonPath: string): Promise<LoadedModel> {
  const file = path.resolve(modelJsonPath);
  const artifacts = await readModelArtifacts(file);
  const model = await modelFromArtifacts(artifacts, file);
  return { model, artifacts, file, sha256: hashArtifacts(artifacts) };
}

/** The artifacts of a model as it is now (weights copied out of the backend). */
export async function captureArtifacts(model: tfTypes.LayersModel): Promise<tfTypes.io.ModelArtifacts> {
  let captured: tfTypes.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

/** model.json (one shard, weights.bin) and the shard, into an existing folder. */
export async function writeModelFiles(artifacts: tfTypes.io.ModelArtifacts, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  const data = artifacts.weightData;
  const weights = Buffer.concat((Array.isArray(data) ? data : data ? [data] : []).map((b) => Buffer.from(b)));
  const modelJson = {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: 'Unlearn Lens',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    ...(metadata ? { userDefinedMetadata: metadata } : {}),
  };
  await fs.writeFile(path.join(dir, 'weights.bin'), weights);
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

/**
 * Writes `artifacts` as a new model folder `targetDir` (model.json + weights.bin + `files`, such as
 * the run record). Refuses to write into an existing folder; the folder appears complete or not at all.
 */
export async function saveModelAtomically(artifacts: tfTypes.io.ModelArtifacts, targetDir: string, files: Record<string, string> = {}): Promise<string> {
  const target = path.resolve(targetDir);
  try {
    await fs.access(target);
    throw new UserInputError(`${target} already exists; results are never written over an earlier file. Choose another name.`, target);
  } catch (e) {
    if (e instanceof UserInputError) throw e;
  }
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp, { recursive: true });
  try {
    await writeModelFiles(artifacts, tmp);
    for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(tmp, name), content);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return path.join(target, 'model.json');
}
