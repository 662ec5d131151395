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
import { makeAdversarialSet, unlearn, type ForgetSet, type UnlearnProgress } from './unlearn';
import { resolveOptions, usesAdversarial, type Method, type UnlearnOptionsInput } from './options';
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
  stopped: 'forgotten' | 'max-epochs';
  phaseSeconds: { attack: number; importance: number; unlearn: number };
  layerChanges: LayerChange[];
}

export interface ExperimentResult {
  dataset: string;
  model: string;
  backend: string;
  k: number;
  seed: number;
  forgetIndices: number[];
  retainSubsetSize: number;
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
  signal?: AbortSignal;
  onProgress?: (method: Method | 'setup', p: UnlearnProgress | { phase: 'evaluate' }) => void;
}

export const RETAIN_SUBSET_SIZE = 5000;

export function chooseForgetIndices(trainSize: number, k: number, seed: number): number[] {
  if (!(Number.isInteger(k) && k >= 1 && k <= trainSize)) throw new RangeError(`k must be a whole number in 1..${trainSize} (got ${k}).`);
  return new Rng(seed).sample(trainSize, k);
}

async function accuracies(model: tfTypes.LayersModel, forget: Dataset, retain: Dataset, test: Dataset): Promise<Accuracies> {
  return { forget: await datasetAccuracy(model, forget), retain: await datasetAccuracy(model, retain), test: await datasetAccuracy(model, test) };
}

export async function runExperiment(req: ExperimentRequest): Promise<ExperimentResult> {
  const forgetIndices = chooseForgetIndices(req.train.labels.length, req.k, req.seed);
  const forgetData = subset(req.train, forgetIndices, `${req.train.name}[forget]`);
  const retainAll = complement(req.train.labels.length, forgetIndices);
  const retainSize = Math.min(req.retainSubsetSize ?? RETAIN_SUBSET_SIZE, retainAll.length);
  const retainPick = new Rng(req.seed + 104729).sample(retainAll.length, retainSize).map((i) => retainAll[i]);
  const retain = subset(req.train, retainPick, `${req.train.name}[retain subset]`);
  const numClasses = req.train.classNames.length;
  const forget: ForgetSet = { images: forgetData.images, labels: forgetData.labels, imageShape: req.train.imageShape, numClasses };

  req.onProgress?.('setup', { phase: 'evaluate' });
  const before = await accuracies(req.loaded.model, forgetData, retain, req.test);
  const runs: MethodRun[] = [];
  let adversarial: AdversarialSet | undefined;
  let attackSeconds = 0;
  for (const method of req.methods) {
    throwIfAborted(req.signal);
    const options = resolveOptions({ ...req.options, method, seed: req.seed });
    // ADV and ADV+IMP use the same adversarial set: same original model, forget set and seed.
    // Each ADV method is charged the attack's time, as a lone request would be.
    if (usesAdversarial(method) && !adversarial) {
      const t0 = performance.now();
      adversarial = await makeAdversarialSet(req.loaded.model, forget, options, { signal: req.signal, onProgress: (p) => req.onProgress?.(method, p) });
      attackSeconds = (performance.now() - t0) / 1000;
    }
    const model = await modelFromArtifacts(req.loaded.artifacts, req.loaded.file);
    try {
      const result = await unlearn(model, forget, options, { signal: req.signal, adversarial, onProgress: (p) => req.onProgress?.(method, p) });
      req.onProgress?.(method, { phase: 'evaluate' });
      const after = await accuracies(model, forgetData, retain, req.test);
      const phaseSeconds = { attack: usesAdversarial(method) ? attackSeconds : 0, importance: result.seconds.importance, unlearn: result.seconds.unlearn };
      runs.push({
        method,
        ...after,
        steps: result.steps,
        seconds: phaseSeconds.attack + result.seconds.total,
        stopped: result.stopped,
        phaseSeconds,
        layerChanges: result.layerChanges,
      });
    } finally {
      model.dispose();
    }
  }
  return { dataset: req.train.name.replace(/\/train$/, ''), model: req.modelName, backend: req.backend, k: req.k, seed: req.seed, forgetIndices, retainSubsetSize: retainSize, before, runs };
}
