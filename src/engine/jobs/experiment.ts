/**
 * The paper's protocol on one model and dataset: pick k random training instances with a seed,
 * then run each method from the same pre-trained model and measure forget / retain / test
 * accuracy before and after. The demo, `unlearn-lens experiment` and the extension's Run
 * Experiment command all go through here.
 */
import { Rng } from '../core/rng';
import { complement, subset, type Dataset } from '../data/dataset';
import type { LayerChange } from '../core/metrics';
import type { LoadedModel } from '../data/modelIo';
import { makeAdversarialSet, type ForgetSet, type GuardReport, type StopReason } from '../core/unlearn';
import type { UnlearnProgress } from '../../contracts/protocol';
import { resolveOptions, usesAdversarial, usesRetainData, type Method, type Preset, type UnlearnOptionsInput } from '../../contracts/options';
import type { AdversarialSet } from '../core/attack';
import { throwIfAborted } from '../../contracts/errors';
import { runMethodTask, type MethodTaskInput, type MethodTaskResult } from './methodTask';
import type { Accuracies } from '../core/metrics';
import { parallelTargetedL2Pgd, resolveWorkers } from '../runtime/attackPool';
import { runMethodTasks } from '../runtime/methodPool';
import { auditHeldOut, auditModel, type MembershipAudit } from '../core/audit';
import { measureYardstick, readModel, type ModelReading, type RetrainedReferences, type Yardstick } from './yardstick';
import { loadModel } from '../data/modelIo';
import { unseenTargets, type UnseenTargets } from '../core/unseen';
import { rocAuc } from './yardstick';

export interface MethodRun extends Accuracies {
  method: Method;
  steps: number;
  seconds: number;
  stopped: StopReason;
  phaseSeconds: { attack: number; importance: number; unlearn: number };
  layerChanges: LayerChange[];
  guard: GuardReport;
  preset: Preset;
  /** Membership audit after (k >= 4). */
  audit?: MembershipAudit;
  /** Membership AUC of the forget set against the whole test set (0.5: looks unseen). */
  membershipAuc: number;
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
  /** Membership audit of the pre-trained model on the forget set (k >= 4). */
  auditBefore?: MembershipAudit;
  /** Membership AUC of the pre-trained model on the forget set against the whole test set. */
  membershipAucBefore: number;
  runs: MethodRun[];
  /** The gap of every run to the model retrained without the forget set, where one is shipped. */
  yardstick?: Yardstick;
  /**
   * The pre-flight estimate, per forget instance, of whether a model retrained without it would
   * still classify it correctly: with the experiment's other training and held-out data, and from
   * the model and the instances alone. `auc`: how well each predicts the retrained model (where shipped).
   */
  preflight: { withData: UnseenTargets; alone: UnseenTargets; auc?: { withData?: number; alone?: number } };
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
  /** Instead of every preset with every method: exactly these runs, in this order. */
  plan?: Array<{ method: Method; preset: Preset }>;
  signal?: AbortSignal;
  onProgress?: (method: Method | 'setup', p: UnlearnProgress | { phase: 'evaluate' }, preset?: Preset) => void;
  /** Retrained reference models for this forget set (the gap to them is measured after the runs). */
  references?: RetrainedReferences;
  /** Each method's result as soon as it is measured. */
  onRun?: (run: MethodRun, before: Accuracies) => void;
  /**
   * Methods run at once, each in its own worker thread from the same pre-trained model (results
   * are the same as one after the other); 'auto' = one per core. Default 1: in process, in order.
   */
  concurrency?: number | 'auto';
}

export const RETAIN_SUBSET_SIZE = 5000;
/** Remaining training images, outside the retain-accuracy subset, that the guard watches. */
export const PROBE_SIZE = 512;

export function chooseForgetIndices(trainSize: number, k: number, seed: number): number[] {
  if (!(Number.isInteger(k) && k >= 1 && k <= trainSize)) throw new RangeError(`k must be a whole number in 1..${trainSize} (got ${k}).`);
  return new Rng(seed).sample(trainSize, k);
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
  const beforeReading = await readModel(req.loaded.model, forgetData, retain, req.test);
  throwIfAborted(req.signal);
  const before: Accuracies = { forget: beforeReading.forget, retain: beforeReading.retain, test: beforeReading.test };
  const heldOut = auditHeldOut(req.test, req.k, req.seed);
  const auditBefore = heldOut ? await auditModel(req.loaded.model, forgetData, heldOut, req.seed) : undefined;
  const runsToMake = req.plan ?? (req.presets ?? ['paper']).flatMap((preset) => req.methods.map((method) => ({ preset, method })));
  const plan = runsToMake.map(({ preset, method }) => ({ preset, method, options: resolveOptions({ ...req.options, method, seed: req.seed }, preset) }));
  // ADV and ADV+IMP use the same adversarial set: same original model, forget set and seed.
  // Each ADV method is charged the attack's time, as a lone request would be.
  let adversarial: AdversarialSet | undefined;
  let attackSeconds = 0;
  const first = plan.find((p) => usesAdversarial(p.method));
  if (first) {
    throwIfAborted(req.signal);
    const t0 = performance.now();
    adversarial = await makeAdversarialSet(req.loaded.model, forget, first.options, {
      signal: req.signal,
      onProgress: (p) => req.onProgress?.(first.method, p, first.preset),
      attack: parallelTargetedL2Pgd,
    });
    attackSeconds = (performance.now() - t0) / 1000;
  }
  // The oracle trains on the remaining training data, except the guard's probe (so the guard stays a proxy it never trained on).
  const probeSet = new Set(probePick);
  const retainTrain = plan.some((p) => usesRetainData(p.method))
    ? subset(
        req.train,
        retainAll.filter((i) => !probeSet.has(i)),
        `${req.train.name}[oracle retain]`,
      )
    : undefined;
  // "As if never seen" ranks the instances among, and anchors on, the training images no figure is
  // measured on (neither the retain subset nor the guard's probe); target losses come from the test set.
  const unused = retainOrder.slice(retainSize + PROBE_SIZE).map((i) => retainAll[i]);
  const spare = unused.length ? subset(req.train, unused, `${req.train.name}[unmeasured]`) : retain;
  const unseenReference = { members: spare, heldOut: req.test, anchor: spare };
  const preflightWithData = await unseenTargets(req.loaded.model, forgetData, { members: spare, heldOut: req.test });
  const preflightAlone = await unseenTargets(req.loaded.model, forgetData);
  throwIfAborted(req.signal);
  const tasks: MethodTaskInput[] = plan.map((p) => ({
    artifacts: req.loaded.artifacts,
    modelFile: req.loaded.file,
    forget,
    evaluate: { forget: forgetData, retain, test: req.test, heldOut },
    adversarial: usesAdversarial(p.method) ? adversarial : undefined,
    probe: probe.images,
    options: p.options,
    ...(p.options.objective.kind === 'unseen' || p.options.anchor ? { unseenReference } : {}),
    ...(retainTrain && usesRetainData(p.method) ? { retainTrain: { images: retainTrain.images, labels: retainTrain.labels } } : {}),
  }));
  const runs = new Array<MethodRun>(plan.length);
  const readings = new Array<ModelReading>(plan.length);
  const record = (i: number, outcome: MethodTaskResult): void => {
    const { method, preset } = plan[i];
    const { result, after, audit } = outcome;
    const phaseSeconds = { attack: usesAdversarial(method) ? attackSeconds : 0, importance: result.seconds.importance, unlearn: result.seconds.unlearn };
    readings[i] = outcome.reading;
    runs[i] = {
      method,
      ...after,
      membershipAuc: outcome.reading.membershipAuc,
      steps: result.steps,
      seconds: phaseSeconds.attack + result.seconds.total,
      stopped: result.stopped,
      phaseSeconds,
      layerChanges: result.layerChanges,
      guard: result.guard,
      preset,
      ...(audit ? { audit } : {}),
    };
    req.onRun?.(runs[i], before);
  };
  const concurrency = Math.min(resolveWorkers(req.concurrency ?? 1), plan.length);
  if (concurrency > 1) {
    // Longest first: the adversarial methods, then the others, each group in plan order.
    const order = [...plan.keys()].sort((a, b) => Number(usesAdversarial(plan[b].method)) - Number(usesAdversarial(plan[a].method)) || a - b);
    await runMethodTasks(tasks, concurrency, order, req.signal, (i, p) => req.onProgress?.(plan[i].method, p, plan[i].preset), record);
  } else {
    for (const [i, task] of tasks.entries()) {
      throwIfAborted(req.signal);
      record(i, await runMethodTask(task, req.signal, (p) => req.onProgress?.(plan[i].method, p, plan[i].preset)));
    }
  }
  let yardstick: Yardstick | undefined;
  if (req.references) {
    throwIfAborted(req.signal);
    req.onProgress?.('setup', { phase: 'evaluate' });
    const named = [
      { name: 'pre-trained', reading: beforeReading },
      ...plan.map((p, i) => ({ name: p.preset === 'paper' ? p.method : `${p.method} [${p.preset}]`, reading: readings[i] })),
    ];
    yardstick = await measureYardstick(
      req.references,
      { forget: forgetData, retain, test: req.test },
      named,
      req.seed,
      async (file) => (await loadModel(file)).model,
    );
  }
  return {
    dataset: req.train.name.replace(/\/train$/, ''),
    model: req.modelName,
    backend: req.backend,
    k: req.k,
    seed: req.seed,
    forgetIndices,
    retainSubsetSize: retainSize,
    probeSize: probe.labels.length,
    before,
    ...(auditBefore ? { auditBefore } : {}),
    membershipAucBefore: beforeReading.membershipAuc,
    preflight: {
      withData: preflightWithData,
      alone: preflightAlone,
      ...(yardstick
        ? {
            auc: {
              withData: rocAuc(
                preflightWithData.instances.map((e) => e.score),
                yardstick.retrainedCorrect,
              ),
              alone: rocAuc(
                preflightAlone.instances.map((e) => e.score),
                yardstick.retrainedCorrect,
              ),
            },
          }
        : {}),
    },
    runs,
    ...(yardstick ? { yardstick } : {}),
  };
}

/** What a grid of experiments reports as it goes, per (k, seed). */
export interface GridHooks {
  /** Retrained references for this forget set, where there are some. */
  references?: (k: number, seed: number) => RetrainedReferences | undefined;
  onRun?: (k: number, seed: number, run: MethodRun, before: Accuracies) => void;
  onProgress?: (k: number, seed: number, ...progress: Parameters<NonNullable<ExperimentRequest['onProgress']>>) => void;
  /** Each experiment's result as soon as it is there. */
  onResult?: (result: ExperimentResult) => void;
}

/** One experiment per k and seed (k-major), on the same model and data. */
export async function runExperimentGrid(
  base: Omit<ExperimentRequest, 'k' | 'seed' | 'references' | 'onRun' | 'onProgress'>,
  ks: readonly number[],
  seeds: readonly number[],
  hooks: GridHooks = {},
): Promise<ExperimentResult[]> {
  const results: ExperimentResult[] = [];
  for (const k of ks) {
    for (const seed of seeds) {
      const result = await runExperiment({
        ...base,
        k,
        seed,
        references: hooks.references?.(k, seed),
        ...(hooks.onRun ? { onRun: (run: MethodRun, before: Accuracies) => hooks.onRun!(k, seed, run, before) } : {}),
        ...(hooks.onProgress ? { onProgress: (...p: Parameters<NonNullable<ExperimentRequest['onProgress']>>) => hooks.onProgress!(k, seed, ...p) } : {}),
      });
      hooks.onResult?.(result);
      results.push(result);
    }
  }
  return results;
}
