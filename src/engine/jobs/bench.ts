/**
 * `unlearn-lens bench`: one unlearning request run by the engine and by the PyTorch reference
 * (tools/reference/unlearn.py) on the same weights, data, forget set and hyper-parameters, back to
 * back in one command, with seconds per phase, peak RSS and accuracies after; plus the PGD scaling
 * over worker counts, a kernel profile of one PGD step and one SGD step, and a memory check over
 * repeated requests. Not part of the test suite (it takes minutes).
 *
 * Phases (both sides): pgd (the adversarial set), importance (MAS + inverted weights), unlearn (SGD
 * steps with the per-step forget check), eval (forget / retain / test accuracy after), total (pgd
 * through eval). Loading, and the "before" accuracies, are outside every phase.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from '../core/tf';
import { complement, gatherRows, subset, type Dataset } from '../data/dataset';
import { accuracies, accuracy, type Accuracies } from '../core/metrics';
import { modelFromArtifacts, type LoadedModel } from '../data/modelIo';
import { makeAdversarialSet, stepLoss, unlearn, type ForgetSet, type UnlearnResult } from '../core/unlearn';
import { examplesPerInstance, resolveOptions, usesAdversarial, type Method, type UnlearnOptions } from '../../contracts/options';
import { chooseForgetIndices } from './experiment';
import { attackSuccess, pgdStep, type AdversarialSet } from '../core/attack';
import { logits, predictClasses, snapshot, trainableParameters } from '../core/modelState';
import { invertedImportance, masImportance } from '../core/importance';
import { Sgd } from '../core/optimizer';
import { packageRoot } from '../data/assets';
import { parallelTargetedL2Pgd } from '../runtime/attackPool';
import { trainOnThreads } from '../runtime/kernels/convHelper';

export interface PhaseSeconds {
  pgd: number;
  importance: number;
  unlearn: number;
  eval: number;
  total: number;
}

export interface BenchSide {
  backend: string;
  seconds: PhaseSeconds;
  /**
   * CPU seconds of all the process's threads from pgd through eval (total's span): the work done,
   * which a loaded machine inflates far less than wall time.
   */
  cpu_seconds?: number;
  /** Peak resident set size of the process that ran this side, MiB. */
  rss_mb: number;
  test_after: number;
  forget_after: number;
  retain_after: number;
  before: Accuracies;
  steps: number;
  epochs: number;
  stopped: UnlearnResult['stopped'];
  remembered: number;
  /** Seconds per SGD step (unlearn phase / steps, forget check included) and per PGD step over the whole adversarial set. */
  per_step: { sgd: number | null; pgd: number | null };
  /** Fraction of adversarial examples the original model classifies as their target. */
  attack_success: number | null;
  adversarial_examples: number;
}

export interface BenchConfig {
  k: number;
  seed: number;
  method: Method;
  maxEpochs: number;
  /** PGD worker counts: the request runs with the first; the others time the PGD phase alone. */
  workers: number[];
  pgdSteps: number;
  /** Run the PyTorch reference (when /usr/bin/python3 with torch is there). */
  reference: boolean;
  python: string;
  /** Extra: the reference's own torch threads (default: all cores). */
  threads?: number;
}

export interface PgdScaling {
  workers: number;
  seconds: number;
  /** Largest |difference| of the adversarial images from the first worker count's (0 = identical). */
  max_abs_diff: number;
}

export interface MemoryPoint {
  request: number;
  tensors_before: number;
  tensors_after: number;
  rss_mb: number;
  heap_mb: number;
  wasm_or_backend_mb: number;
  seconds: number;
}

export interface MemoryReport {
  requests: number;
  setting: string;
  baseline_tensors: number;
  points: MemoryPoint[];
  tensors_return_to_baseline: boolean;
  /** RSS growth over the first and the second half of the requests, MiB. */
  rss_growth_first_half_mb: number;
  rss_growth_second_half_mb: number;
  rss_levels_off: boolean;
}

export interface KernelShare {
  kernel: string;
  ms: number;
  calls: number;
  share: number;
}

export interface StepProfile {
  what: string;
  wall_ms: number;
  kernel_ms: number;
  kernels: KernelShare[];
}

export interface BenchReport {
  engine: BenchSide;
  reference: BenchSide | null;
  reference_error?: string;
  ratio: {
    pgd: number | null;
    total: number | null;
    importance: number | null;
    unlearn: number | null;
    eval: number | null;
    sgd_step: number | null;
    pgd_step: number | null;
    cpu_total: number | null;
  };
  agreement: {
    test_after_points: number;
    retain_after_points: number;
    forget_after_points: number;
    same_steps: boolean;
    attack_success_points: number | null;
  } | null;
  k: number;
  seed: number;
  method: Method;
  max_epochs: number;
  pgd_steps: number;
  forget_indices: number[];
  workers: number;
  /** The reference's torch threads. */
  reference_threads: number;
  /** os.loadavg() (1, 5, 15 minutes) when the bench started and when it ended: a shared machine's load. */
  load_average: { start: number[]; end: number[] };
  cores: number;
  pgd_scaling: PgdScaling[];
  profile?: StepProfile[];
  memory?: MemoryReport;
  note: string;
}

const mib = (bytes: number): number => bytes / (1024 * 1024);
const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;

export function benchOptions(config: BenchConfig, workers = config.workers[0]): UnlearnOptions {
  return resolveOptions({ method: config.method, seed: config.seed, maxEpochs: config.maxEpochs, attack: { steps: config.pgdSteps, workers } });
}

export interface EngineRun {
  side: BenchSide;
  adversarial?: AdversarialSet;
  forget: ForgetSet;
}

/** The engine's side: one request on a fresh copy of the model, timed per phase. */
export async function runEngineRequest(
  loaded: LoadedModel,
  train: Dataset,
  test: Dataset,
  forgetIndices: number[],
  config: BenchConfig,
  backend: string,
): Promise<EngineRun> {
  const forgetData = subset(train, forgetIndices, 'forget');
  const retain = subset(train, complement(train.labels.length, forgetIndices), 'retain');
  const numClasses = train.classNames.length;
  const forget: ForgetSet = { images: forgetData.images, labels: forgetData.labels, imageShape: train.imageShape, numClasses };
  const options = benchOptions(config);
  // The training step on as many threads as PGD has workers (one or two), as a user's request runs.
  trainOnThreads(config.workers[0]);
  const model = await modelFromArtifacts(loaded.artifacts, loaded.file);
  try {
    const before = await accuracies(model, forgetData, retain, test);
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const result = await unlearn(model, forget, options, { attack: parallelTargetedL2Pgd });
    const t0 = performance.now();
    const after = await accuracies(model, forgetData, retain, test);
    const evalSeconds = (performance.now() - t0) / 1000;
    const total = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const adversarial = result.adversarial;
    const success = adversarial ? attackSuccess(adversarial) : null;
    const pgdSteps = usesAdversarial(config.method) ? options.attack.steps : 0;
    const side: BenchSide = {
      backend,
      seconds: { pgd: result.seconds.attack, importance: result.seconds.importance, unlearn: result.seconds.unlearn, eval: evalSeconds, total },
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      rss_mb: peakRssMb(),
      test_after: after.test,
      forget_after: after.forget,
      retain_after: after.retain,
      before,
      steps: result.steps,
      epochs: result.epochs,
      stopped: result.stopped,
      remembered: result.remembered,
      per_step: { sgd: result.steps ? result.seconds.unlearn / result.steps : null, pgd: pgdSteps ? result.seconds.attack / pgdSteps : null },
      attack_success: success,
      adversarial_examples: adversarial?.targets.length ?? 0,
    };
    return { side, adversarial, forget };
  } finally {
    model.dispose();
  }
}

/** The PGD phase alone with another worker count; checks the adversarial set is the same. */
export async function timePgd(loaded: LoadedModel, forget: ForgetSet, config: BenchConfig, workers: number, reference?: AdversarialSet): Promise<PgdScaling> {
  const model = await modelFromArtifacts(loaded.artifacts, loaded.file);
  try {
    const t0 = performance.now();
    const adv = await makeAdversarialSet(model, forget, benchOptions(config, workers), { attack: parallelTargetedL2Pgd });
    const seconds = (performance.now() - t0) / 1000;
    let diff = 0;
    if (reference) for (let i = 0; i < adv.images.length; i++) diff = Math.max(diff, Math.abs(adv.images[i] - reference.images[i]));
    return { workers, seconds, max_abs_diff: reference ? diff : Number.NaN };
  } finally {
    model.dispose();
  }
}

export function referenceScript(): string {
  return path.join(packageRoot(), 'tools', 'reference', 'unlearn.py');
}

/** Why the reference cannot run here, or undefined when it can. */
export function referenceUnavailable(python: string): string | undefined {
  if (!fs.existsSync(python))
    return `${python} is not installed: the PyTorch reference needs Debian's python3 with python3-torch (apt-get install -y python3-torch).`;
  if (!fs.existsSync(referenceScript())) return `${referenceScript()} is missing.`;
  const probe = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return `PyTorch is not importable by ${python} (${(probe.stderr || '').trim().split('\n').pop()}); install python3-torch.`;
  return undefined;
}

/** The reference's side: tools/reference/unlearn.py in a child process (its stderr is passed through). */
export function runReference(loaded: LoadedModel, dataDir: string, forgetIndices: number[], config: BenchConfig): Promise<BenchSide> {
  const args = [
    referenceScript(),
    '--model',
    loaded.file,
    '--data-dir',
    dataDir,
    '--forget-indices',
    forgetIndices.join(','),
    '--method',
    config.method,
    '--seed',
    String(config.seed),
    '--max-epochs',
    String(config.maxEpochs),
    '--pgd-steps',
    String(config.pgdSteps),
    '--threads',
    String(config.threads ?? os.cpus().length),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(config.python, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${config.python} ${path.relative(process.cwd(), args[0])} exited with code ${code}`));
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as BenchSide);
      } catch {
        reject(new Error(`The reference printed no JSON result: ${out.slice(-500)}`));
      }
    });
  });
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a != null && b != null && b > 0 ? a / b : null);

export function compareSides(engine: BenchSide, reference: BenchSide | null): Pick<BenchReport, 'ratio' | 'agreement'> {
  const r = reference;
  return {
    ratio: {
      pgd: ratio(engine.seconds.pgd, r?.seconds.pgd),
      total: ratio(engine.seconds.total, r?.seconds.total),
      importance: ratio(engine.seconds.importance, r?.seconds.importance),
      unlearn: ratio(engine.seconds.unlearn, r?.seconds.unlearn),
      eval: ratio(engine.seconds.eval, r?.seconds.eval),
      sgd_step: ratio(engine.per_step.sgd, r?.per_step.sgd),
      pgd_step: ratio(engine.per_step.pgd, r?.per_step.pgd),
      cpu_total: ratio(engine.cpu_seconds, r?.cpu_seconds),
    },
    agreement: r
      ? {
          test_after_points: 100 * (engine.test_after - r.test_after),
          retain_after_points: 100 * (engine.retain_after - r.retain_after),
          forget_after_points: 100 * (engine.forget_after - r.forget_after),
          same_steps: engine.steps === r.steps,
          attack_success_points: engine.attack_success != null && r.attack_success != null ? 100 * (engine.attack_success - r.attack_success) : null,
        }
      : null,
  };
}

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

function summarise(what: string, wallMs: number, info: ProfileInfo): StepProfile {
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  const backendName = tf.getBackend();
  for (const k of info.kernels) {
    // Composite ops (customGrad's forward, recorded under the scope name, e.g. "forward") wrap
    // kernels that are recorded on their own too: counted once, through their kernels.
    if (!tf.getKernel(k.name, backendName)) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byName.set(k.name, e);
    total += ms;
  }
  const kernels = [...byName.entries()]
    .map(([kernel, e]) => ({ kernel, ms: e.ms, calls: e.calls, share: total > 0 ? e.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { what, wall_ms: wallMs, kernel_ms: total, kernels };
}

/**
 * Where the engine's time goes: tf.profile of one PGD step (one chunk of the adversarial set) and
 * of one ADV+IMP SGD step (256 adversarial + min(k, 32) forget examples, train mode, penalty,
 * optimiser), built from the same functions as attack.ts and unlearn.ts; plus the forget check.
 * Each is run once to warm up, then timed (median of 3 wall times) and profiled once.
 */
export async function profileEngine(
  loaded: LoadedModel,
  forget: ForgetSet,
  adversarial: AdversarialSet | undefined,
  config: BenchConfig,
): Promise<StepProfile[]> {
  const options = benchOptions(config);
  const model = await modelFromArtifacts(loaded.artifacts, loaded.file);
  const { imageShape } = forget;
  const size = imageShape[0] * imageShape[1] * imageShape[2];
  const k = forget.labels.length;
  const out: StepProfile[] = [];
  const timeIt = async (f: () => tfTypes.Tensor | tfTypes.Tensor[]): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const r = f();
      const list = Array.isArray(r) ? r : [r];
      for (const t of list) await t.data();
      times.push(performance.now() - t0);
      tf.dispose(list);
    }
    times.shift();
    return times.sort((a, b) => a - b)[1];
  };
  try {
    if (adversarial) {
      const n = Math.min(options.attack.chunkSize, adversarial.targets.length);
      const x = tf.tensor4d(gatherRows(forget.images, size, adversarial.sources.subarray(0, n)), [n, ...imageShape]);
      const delta = tf.tidy(() => tf.sub(tf.tensor4d(adversarial.images.subarray(0, n * size), [n, ...imageShape]), x)) as tfTypes.Tensor4D;
      const t = tf.tensor1d(adversarial.targets.subarray(0, n), 'int32');
      const step = () => pgdStep(model, x, delta, t, options.attack.epsilon, options.attack.stepSize);
      const wall = await timeIt(step);
      const info = await tf.profile(step);
      out.push(summarise(`PGD step, ${n} examples (input gradient, inference mode)`, wall, info));
      tf.dispose([x, delta, t]);
    }
    const params = trainableParameters(model);
    const variables = params.map((p) => p.variable);
    const theta0 = snapshot(variables);
    const forgetX = tf.tensor4d(forget.images, [k, ...imageShape]);
    const { omega } = masImportance(model, forgetX);
    const weights = invertedImportance(omega);
    tf.dispose(omega);
    const optimizer = new Sgd(variables, options.learningRate, options.momentum, options.weightDecay);
    const bf = Math.min(k, options.forgetBatchSize);
    const xf = tf.tensor4d(forget.images.subarray(0, bf * size), [bf, ...imageShape]);
    const yf = tf.tensor1d(forget.labels.subarray(0, bf), 'int32');
    const ba = adversarial ? Math.min(options.adversarialBatchSize, adversarial.targets.length) : 0;
    const xa = adversarial ? tf.tensor4d(adversarial.images.subarray(0, ba * size), [ba, ...imageShape]) : undefined;
    const ta = adversarial ? tf.tensor1d(adversarial.targets.subarray(0, ba), 'int32') : undefined;
    const sgdStep = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => stepLoss(model, variables, options, { xf, yf, xa, ta, penalty: { theta0, weights } }), variables);
        optimizer.step(variables.map((v) => grads[v.name] ?? tf.zerosLike(v)));
        return value;
      });
    try {
      const wall = await timeIt(sgdStep);
      const info = await tf.profile(sgdStep);
      out.push(summarise(`SGD step, ${ba} adversarial + ${bf} forget (train mode, penalty, optimiser)`, wall, info));
      const checks: number[] = [];
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        await predictClasses(model, forget.images, imageShape);
        checks.push(performance.now() - t0);
      }
      checks.shift();
      const check = checks.sort((a, b) => a - b)[1];
      const info2 = await tf.profile(() => tf.tidy(() => tf.argMax(logits(model, forgetX, false, true), 1)));
      out.push(summarise(`forget check, ${k} examples (inference mode)`, check, info2));
    } finally {
      tf.dispose([xf, yf, forgetX, ...theta0, ...weights]);
      if (xa) tf.dispose([xa, ta!]);
      optimizer.dispose();
    }
  } finally {
    model.dispose();
  }
  return out;
}

/**
 * N consecutive small requests in this process (k = 4, ADV+IMP, few PGD steps, a small epoch cap):
 * tf.memory().numTensors before and after each, and RSS after each. Tensors must return to the
 * baseline; RSS must level off (the WASM heap only grows, to its high-water mark).
 */
export async function memoryCheck(loaded: LoadedModel, train: Dataset, requests: number, workers: number, seed = 0): Promise<MemoryReport> {
  const k = 4;
  const indices = chooseForgetIndices(train.labels.length, k, seed);
  const data = subset(train, indices, 'forget');
  const forget: ForgetSet = { images: data.images, labels: data.labels, imageShape: train.imageShape, numClasses: train.classNames.length };
  const options = resolveOptions({ method: 'adv+imp', seed, maxEpochs: 3, attack: { steps: 5, workers } });
  trainOnThreads(workers);
  const baseline = tf.memory().numTensors;
  const points: MemoryPoint[] = [];
  for (let r = 1; r <= requests; r++) {
    const t0 = performance.now();
    const before = tf.memory().numTensors;
    const model = await modelFromArtifacts(loaded.artifacts, loaded.file);
    try {
      await unlearn(model, forget, options, { attack: parallelTargetedL2Pgd });
      await accuracy(model, forget.images, forget.labels, forget.imageShape);
    } finally {
      model.dispose();
    }
    const mem = process.memoryUsage();
    points.push({
      request: r,
      tensors_before: before,
      tensors_after: tf.memory().numTensors,
      rss_mb: mib(mem.rss),
      heap_mb: mib(mem.heapUsed),
      wasm_or_backend_mb: mib(tf.memory().numBytes),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  const half = Math.floor(requests / 2);
  const rss = points.map((p) => p.rss_mb);
  const firstHalf = requests >= 2 ? rss[half - 1] - rss[0] : 0;
  const secondHalf = requests >= 2 ? rss[requests - 1] - rss[half - 1] : 0;
  return {
    requests,
    setting: `k = ${k}, ADV+IMP, ${options.attack.steps} PGD steps, max ${options.maxEpochs} epochs, ${workers} PGD worker(s), fresh model copy per request`,
    baseline_tensors: baseline,
    points,
    tensors_return_to_baseline: points.every((p) => p.tensors_after === baseline),
    rss_growth_first_half_mb: firstHalf,
    rss_growth_second_half_mb: secondHalf,
    // Levelled off: the second half grows by under 5 % of the RSS (allocator and JIT noise).
    rss_levels_off: secondHalf <= Math.max(0.05 * rss[requests - 1], 1),
  };
}

export const BENCH_NOTE =
  'Engine and reference run back to back in one command on the same machine (shared, so timings carry the noise of whatever else runs). ' +
  "Same weights (model.json shards), same IDX data, same forget indices, same hyper-parameters; the reference reimplements the engine's seeded generator, " +
  'so adversarial targets, random starts and batch order are identical and only floating-point arithmetic differs. ' +
  'per_step.sgd = unlearn seconds / steps (forget check included); per_step.pgd = pgd seconds / PGD steps (one step over the whole adversarial set).';

export function examplesFor(config: BenchConfig, numClasses: number): number {
  return usesAdversarial(config.method) ? config.k * examplesPerInstance(benchOptions(config).attack, numClasses) : 0;
}
