/**
 * The paper's protocol on one model and dataset: pick k random training instances with a seed,
 * then run each method from the same pre-trained model and measure forget / retain / test
 * accuracy before and after. The demo, `unlearn-lens experiment` and the extension's Run
 * Experiment command all go through here.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from './rng';
import { complement, subset, type Dataset } from './data/dataset';
import { datasetAccuracy, type LayerChange } from './metrics';
import { modelFromArtifacts, type LoadedModel } from './modelIo';
import { makeAdversarialSet, unlearn, type ForgetSet, type GuardReport, type StopReason, type UnlearnProgress } from './unlearn';
import { resolveOptions, usesAdversarial, type Method, type Preset, type UnlearnOptionsInput } from './options';
import type { AdversarialSet } from './attack';
import { throwIfAborted } from './errors';

export interface Accuracies {
  forget: number;
  retain: number;
  test: number;
}

export interface MethodRun extends Accuracies {
  method: Method;
  steps: number;
  seconds: number;
  stopped: StopReason;
  phaseSeconds: { attack: number; importance: number; unlearn: number };
  layerChanges: LayerChange[];
  guard: GuardReport;
  preset: Preset;
}

export interface ExperimentResult {
  dataset: string;
  model: string;
  backend: string;
  k: number;
  seed: number;
  forgetIndices: number[];
  retainSubsetSize: number;
  probeSize: number;
  before: Accuracies;
  runs: MethodRun[];
}

export interface ExperimentRequest {
  loaded: LoadedModel;
  modelName: string;
  train: Dataset;
  test: Dataset;
  k: number;
  seed: number;
  methods: Method[];
  backend: string;
  /** Retain accuracy on a fixed random subset of D_r of this size (all of D_r if smaller). */
  retainSubsetSize?: number;
  options?: UnlearnOptionsInput;
  /** Named option bundles to run each method with (default [`paper`]); `options` override them. */
  presets?: Preset[];
  signal?: AbortSignal;
  onProgress?: (method: Method | 'setup', p: UnlearnProgress | { phase: 'evaluate' }, preset?: Preset) => void;
  /** Each method's result as soon as it is measured. */
  onRun?: (run: MethodRun, before: Accuracies) => void;
}

export const RETAIN_SUBSET_SIZE = 5000;
/** Remaining training images, outside the retain-accuracy subset, that the guard watches. */
export const PROBE_SIZE = 512;

export function chooseForgetIndices(trainSize: number, k: number, seed: number): number[] {
  if (!(Number.isInteger(k) && k >= 1 && k <= trainSize)) throw new RangeError(`k must be a whole number in 1..${trainSize} (got ${k}).`);
  return new Rng(seed).sample(trainSize, k);
}

async function accuracies(model: tfTypes.LayersModel, forget: Dataset, retain: Dataset, test: Dataset, signal?: AbortSignal): Promise<Accuracies> {
  const forgetAccuracy = await datasetAccuracy(model, forget);
  throwIfAborted(signal);
  const retainAccuracy = await datasetAccuracy(model, retain);
  throwIfAborted(signal);
  return { forget: forgetAccuracy, retain: retainAccuracy, test: await datasetAccuracy(model, test) };
}

export async function runExperiment(req: ExperimentRequest): Promise<ExperimentResult> {
  const forgetIndices = chooseForgetIndices(req.train.labels.length, req.k, req.seed);
  const forgetData = subset(req.train, forgetIndices, `${req.train.name}[forget]`);
  const retainAll = complement(req.train.labels.length, forgetIndices);
  const retainSize = Math.min(req.retainSubsetSize ?? RETAIN_SUBSET_SIZE, retainAll.length);
  const retainOrder = new Rng(req.seed + 104729).permutation(retainAll.length);
  const retainPick = retainOrder.slice(0, retainSize).map((i) => retainAll[i]);
  const retain = subset(req.train, retainPick, `${req.train.name}[retain subset]`);
  const probePick = retainOrder.slice(retainSize, retainSize + PROBE_SIZE).map((i) => retainAll[i]);
  const probe = subset(req.train, probePick, `${req.train.name}[guard probe]`);
  const numClasses = req.train.classNames.length;
  const forget: ForgetSet = { images: forgetData.images, labels: forgetData.labels, imageShape: req.train.imageShape, numClasses };

  req.onProgress?.('setup', { phase: 'evaluate' });
  const before = await accuracies(req.loaded.model, forgetData, retain, req.test, req.signal);
  const runs: MethodRun[] = [];
  let adversarial: AdversarialSet | undefined;
  let attackSeconds = 0;
  const plan = (req.presets ?? ['paper']).flatMap((preset) => req.methods.map((method) => ({ preset, method })));
  for (const { preset, method } of plan) {
    throwIfAborted(req.signal);
    const options = resolveOptions({ ...req.options, method, seed: req.seed }, preset);
    // ADV and ADV+IMP use the same adversarial set: same original model, forget set and seed.
    // Each ADV method is charged the attack's time, as a lone request would be.
    if (usesAdversarial(method) && !adversarial) {
      const t0 = performance.now();
      adversarial = await makeAdversarialSet(req.loaded.model, forget, options, { signal: req.signal, onProgress: (p) => req.onProgress?.(method, p, preset) });
      attackSeconds = (performance.now() - t0) / 1000;
    }
    const model = await modelFromArtifacts(req.loaded.artifacts, req.loaded.file);
    try {
      const result = await unlearn(model, forget, options, { signal: req.signal, adversarial, probe: probe.images, onProgress: (p) => req.onProgress?.(method, p, preset) });
      req.onProgress?.(method, { phase: 'evaluate' }, preset);
      const after = await accuracies(model, forgetData, retain, req.test, req.signal);
      const phaseSeconds = { attack: usesAdversarial(method) ? attackSeconds : 0, importance: result.seconds.importance, unlearn: result.seconds.unlearn };
      runs.push({
        method,
        ...after,
        steps: result.steps,
        seconds: phaseSeconds.attack + result.seconds.total,
        stopped: result.stopped,
        phaseSeconds,
        layerChanges: result.layerChanges,
        guard: result.guard,
        preset,
      });
      req.onRun?.(runs[runs.length - 1], before);
    } finally {
      model.dispose();
    }
  }
  return { dataset: req.train.name.replace(/\/train$/, ''), model: req.modelName, backend: req.backend, k: req.k, seed: req.seed, forgetIndices, retainSubsetSize: retainSize, probeSize: probe.labels.length, before, runs };
}
