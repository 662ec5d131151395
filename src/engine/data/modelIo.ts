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
import { tf } from '../core/tf';
import { throwIfAborted, UserInputError } from '../../contracts/errors';
import { writeFileDurably } from './outputFiles';
import { checkFiniteWeights, checkModelContract, checkShapes, checkShardBytes, checkShardInside, checkTopology, checkWeightsManifest, engineTopology, ModelContractError, type ModelContract, type WeightSpec } from '../../contracts/modelContract';

export interface LoadedModel {
  /** The model as the engine runs it: logits out (a trailing softmax removed, see src/contracts/modelContract.ts). */
  model: tfTypes.LayersModel;
  /** The artifacts the engine runs, to make fresh copies without touching disk again. */
  artifacts: tfTypes.io.ModelArtifacts;
  file: string;
  /** sha256 of model.json and the weights as on disk, for run records. */
  sha256: string;
  /** What the model is, against the contract (shown in the CLI and kept in the run record). */
  contract?: ModelContract;
  /** The topology as on disk, when it differs from the one the engine runs: versions are saved with it. */
  savedTopology?: tfTypes.io.ModelArtifacts['modelTopology'];
}

/** Runs a contract check, turning its violation into the engine's user-facing error. */
function contract<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ModelContractError) throw new UserInputError(e.message, e.file);
    throw e;
  }
}

export async function readModelArtifacts(modelJsonPath: string): Promise<tfTypes.io.ModelArtifacts> {
  const file = path.resolve(modelJsonPath);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new UserInputError(`Cannot read the model ${file} (${(e as NodeJS.ErrnoException).code ?? e}). Select a TensorFlow.js model.json (Unlearn: Select Model…).`, file);
  }
  let json: { modelTopology?: unknown; weightsManifest?: unknown; format?: string; generatedBy?: string; convertedBy?: string | null };
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserInputError(`${file} is not valid JSON (${(e as Error).message}). Re-export the model with model.save(...) from TensorFlow.js.`, file);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UserInputError(`${file} is not a TensorFlow.js Layers model: it needs "modelTopology" and "weightsManifest". Graph models and Keras .h5 files ` +
      `must be converted with tensorflowjs_converter --output_format tfjs_layers_model.`, file);
  }
  const groups = contract(() => checkWeightsManifest(json.weightsManifest, file));
  const modelDir = path.dirname(file);
  const modelDirReal = await fs.realpath(modelDir);
  const specs: WeightSpec[] = [];
  const buffers: Buffer[] = [];
  for (const group of groups) {
    const groupBuffers: Buffer[] = [];
    for (const shard of group.paths) {
      const shardPath = path.resolve(modelDir, shard);
      try {
        const real = await fs.realpath(shardPath);
        contract(() => checkShardInside(modelDirReal, real, shard, file));
        if (!(await fs.stat(real)).isFile()) throw new UserInputError(`The weight shard ${shardPath}, listed in ${file}, is not a regular file. Keep model.json and its .bin files together.`, shardPath);
        groupBuffers.push(await fs.readFile(real));
      } catch (e) {
        if (e instanceof UserInputError) throw e;
        throw new UserInputError(`The weight shard ${shardPath}, listed in ${file}, cannot be read (${(e as NodeJS.ErrnoException).code ?? e}). Keep ` +
          `model.json and its .bin files together.`, shardPath);
      }
    }
    contract(() => checkShardBytes(group, groupBuffers.reduce((n, b) => n + b.length, 0), file));
    specs.push(...group.weights);
    buffers.push(...groupBuffers);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  contract(() => checkFiniteWeights(specs, weightData, file));
  return {
    modelTopology: json.modelTopology as tfTypes.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData,
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

/**
 * Reads, checks (src/contracts/modelContract.ts) and builds a model. A model that ends in softmax is
 * built without it (the engine works on logits); `savedTopology` keeps the original for saving.
 */
export async function loadModel(modelJsonPath: string): Promise<LoadedModel> {
  const file = path.resolve(modelJsonPath);
  const onDisk = await readModelArtifacts(file);
  const facts = contract(() => checkTopology(onDisk.modelTopology, file));
  const adapted = facts.output === 'softmax' || facts.inputRescaled;
  const artifacts = adapted ? { ...onDisk, modelTopology: contract(() => engineTopology(onDisk.modelTopology, file)) } : onDisk;
  const model = await modelFromArtifacts(artifacts, file);
  try {
    const shapes = contract(() => checkShapes(model.inputs[0].shape, model.outputs[0].shape, file));
    const parameters = (onDisk.weightSpecs ?? []).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    return {
      model,
      artifacts,
      file,
      sha256: hashArtifacts(onDisk),
      contract: checkModelContract(facts, shapes, parameters),
      ...(adapted ? { savedTopology: onDisk.modelTopology } : {}),
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The artifacts to save for a model loaded as `loaded`: its current weights, under the topology it had on disk (a stripped softmax restored). */
export function artifactsToSave(current: tfTypes.io.ModelArtifacts, loaded: Pick<LoadedModel, 'savedTopology'>): tfTypes.io.ModelArtifacts {
  return loaded.savedTopology ? { ...current, modelTopology: loaded.savedTopology } : current;
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

/** Flushes a folder's entries (new files, renames) to the disk; where folders cannot be opened (Windows) it does nothing. */
async function syncFolder(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // not supported here
  } finally {
    await handle?.close();
  }
}

/** model.json (one shard, weights.bin) and the shard, into an existing folder, each flushed to the disk. */
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
  await writeFileDurably(path.join(dir, 'weights.bin'), weights);
  await writeFileDurably(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

/** `.<name>.tmp-<pid>-<random>`: where a version is written before it is renamed into place. */
const TEMPORARY = /^\.(.+)\.tmp-(?:(\d+)-)?[0-9a-f]{8}$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what killed saves left in `dir`: our temporary folders (by name) whose process is gone.
 * Returns the names removed.
 */
export async function removeStaleTemporaryFolders(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const e of entries) {
    const m = TEMPORARY.exec(e.name);
    if (!m || !e.isDirectory()) continue;
    const pid = m[2] === undefined ? undefined : Number(m[2]);
    if (pid !== undefined && pid !== process.pid && processAlive(pid)) continue;
    if (pid === process.pid) continue;
    await fs.rm(path.join(dir, e.name), { recursive: true, force: true });
    removed.push(e.name);
  }
  return removed;
}

/** A write failure the user can fix (full disk, read-only, no permission), as a message naming `dir`. */
export function writeProblem(e: unknown, dir: string): UserInputError | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'the disk (or your quota) is full'
      : code === 'EROFS'
        ? 'it is on a read-only file system'
        : code === 'EACCES' || code === 'EPERM'
          ? 'you may not write there (permission denied)'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a file is in the way (a part of its path is a file, not a folder)'
            : undefined;
  return why ? new UserInputError(`Cannot write into ${dir}: ${why}. Free space or make the folder writable, then run again.`, dir) : undefined;
}

/**
 * Checks up front that a version of about `bytes` can be written into `dir` (created when
 * missing): a probe folder and file can be made there (not read-only, permitted), and the disk
 * has room for it; removes what killed saves left there. Throws a UserInputError
 * naming the folder otherwise.
 */
export async function prepareVersionsFolder(dir: string, bytes: number): Promise<void> {
  const probe = path.join(dir, `.probe.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await removeStaleTemporaryFolders(dir);
    await fs.mkdir(probe);
    await fs.writeFile(path.join(probe, 'probe'), 'probe');
  } catch (e) {
    throw writeProblem(e, dir) ?? e;
  } finally {
    await fs.rm(probe, { recursive: true, force: true }).catch(() => undefined);
  }
  try {
    const free = await fs.statfs(dir);
    // Room for the version (about the size of the model's folder) and a margin.
    if (free.bavail * free.bsize < bytes * 1.5 + 1024 * 1024) throw writeProblem({ code: 'ENOSPC' }, dir)!;
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    // statfs is not available everywhere: the probe write stands
  }
}

/** For tests of cancel and kill during a save: pauses just before the rename (UNLEARN_LENS_TEST_SAVE_PAUSE_MS). */
async function testPauseBeforeRename(signal?: AbortSignal): Promise<void> {
  const ms = Number(process.env.UNLEARN_LENS_TEST_SAVE_PAUSE_MS ?? 0);
  if (!(ms > 0)) return;
  process.stderr.write('[test] save paused before the rename\n');
  const until = Date.now() + ms;
  while (Date.now() < until && !signal?.aborted) await new Promise((r) => setTimeout(r, 10));
}

export interface SaveOptions {
  /** Checked up to the final rename: once aborted, nothing is left behind. */
  signal?: AbortSignal;
}

/**
 * Writes `artifacts` as a new model folder `targetDir` (model.json + weights.bin + `files`, such as
 * the run record). Refuses to write into an existing folder; the folder appears complete or not at
 * all: written and flushed under a temporary name, then renamed. A cancel (`signal`) before the
 * rename leaves nothing; a full or read-only disk is a UserInputError naming the folder.
 */
export async function saveModelAtomically(artifacts: tfTypes.io.ModelArtifacts, targetDir: string, files: Record<string, string> = {}, options: SaveOptions = {}): Promise<string> {
  const target = path.resolve(targetDir);
  const parent = path.dirname(target);
  if (await fs.lstat(target).then(() => true, () => false)) {
    throw new UserInputError(`${target} already exists; results are never written over an earlier file. Choose another name.`, target);
  }
  throwIfAborted(options.signal);
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(tmp, { recursive: true });
    await writeModelFiles(artifacts, tmp);
    for (const [name, content] of Object.entries(files)) await writeFileDurably(path.join(tmp, name), content);
    await syncFolder(tmp);
    await testPauseBeforeRename(options.signal);
    throwIfAborted(options.signal);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw writeProblem(e, parent) ?? e;
  }
  await syncFolder(parent);
  return path.join(target, 'model.json');
}
