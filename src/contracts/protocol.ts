/**
 * The one protocol between the extension host and the engine worker (worker_threads).
 *
 *   host → worker   { type: 'request', id, request }   { type: 'cancel', id }
 *                   { type: 'answer', id, answer }
 *   worker → host   { type: 'progress', id, progress }  { type: 'result', id, result }
 *                   { type: 'error', id, error }        { type: 'question', id, trip }
 *
 * A `question` (an unlearn run whose guard, with action `ask`, tripped) waits for one `answer`
 * with the same id; a cancel answers it with `stop` (and the run then writes nothing).
 *
 * Every request gets exactly one result or error with its id. A cancelled request answers with an
 * error whose name is 'CancelledError'. Only types are shared: this file has no runtime code.
 */
import type { BackendChoice, Method, Preset, RelabelChoice, ResizeMode, UnlearnOptions, UnlearnOptionsInput } from './options';
import type { RunRecordOf } from './runRecord';
import type { ImportanceSummary, ModelSummary } from './inspect';

export interface BackendInfo {
  /** The name tfjs reports: 'wasm', 'webgpu', 'cpu' or 'tensorflow'. */
  name: string;
  /** What was asked for, and where native packages were looked up (worker threads repeat it). */
  choice: BackendChoice;
  searchPaths: string[];
  /** What was asked for and what was found, in words, for logs and run records. */
  description: string;
}

export interface ManifestProblem {
  line: number;
  message: string;
  kind: 'syntax' | 'unknown-label' | 'missing-file' | 'unreadable-image';
  file?: string;
}

export type GuardAnswer = 'stop' | 'continue';

/** The question a tripped `ask` guard puts to whoever runs it. */
export interface GuardTrip {
  step: number;
  /** Agreement with the original model's predictions now. */
  agreement: number;
  /** The threshold it fell below. */
  minAgreement: number;
  /** The step a `stop` would roll back to. */
  rollbackStep?: number;
  /** Forget instances still remembered, of `total`. */
  remembered: number;
  total: number;
}

export interface AttackProgress {
  step: number;
  steps: number;
  chunk: number;
  chunks: number;
}

export type UnlearnProgress =
  | ({ phase: 'attack' } & AttackProgress)
  | { phase: 'importance' }
  | { phase: 'unlearn'; step: number; epoch: number; loss: number; remembered: number; total: number };

export interface AdversarialPreview {
  imageShape: [number, number, number];
  examples: Array<{
    /** Index into the forget set. */
    instance: number;
    target: number;
    /** The original model's class for the example. */
    predicted: number;
    /** ||delta||_2 in [0, 1] pixel units. */
    l2: number;
    /** Pixels in 0..255, h*w*c (bytes: a run's examples can be thousands). */
    original: Uint8Array;
    adversarial: Uint8Array;
  }>;
}

/**
 * The run record (schema, validation and paths: src/contracts/runRecord.ts) with the engine's
 * options; `preview` (ADV runs) travels only in the request's result, never into run.json: a few
 * adversarial examples beside the instances they came from, for the report of the session that ran them.
 */
export type RunRecord = RunRecordOf<UnlearnOptions> & { preview?: AdversarialPreview };

/** What the user selected to forget. */
export type ForgetSelection =
  /** Image files and folders inside a class-folder dataset (the Explorer's multi-selection). */
  | { kind: 'files'; paths: string[]; datasetRoot?: string }
  /** Lines (0-based) of a CSV/JSONL manifest. */
  | { kind: 'manifest'; manifest: string; lines: number[] };

export interface BackendRequest {
  choice: BackendChoice;
  searchPaths: string[];
}

export interface UnlearnJob {
  kind: 'unlearn';
  backend: BackendRequest;
  /** The model to start from (the active version). */
  modelPath: string;
  /** Where the new version goes: the original model's `<folder>.versions`. */
  versionsDir: string;
  selection: ForgetSelection;
  options: UnlearnOptionsInput;
  /** Named bundle of options under `options` ('paper': the method as published). */
  preset?: Preset;
  resize: ResizeMode;
  /** A labelled held-out set (class-folder dataset or manifest) to measure collateral damage on. */
  testData?: string;
  /** Relabel instead of misclassify (the paper's variant): new labels by class, or the nearest other class of each instance. */
  relabel?: RelabelChoice;
  /** Read images that resolve outside the dataset folder (manifest rows with ../ or absolute paths, symlinks); default: refuse them. */
  allowOutside?: boolean;
}

export interface ExperimentJob {
  kind: 'experiment';
  backend: BackendRequest;
  /** A model.json, or undefined for the embedded default. */
  modelPath?: string;
  /** A class-folder dataset or manifest of training data; undefined for the embedded default. */
  trainData?: string;
  testData?: string;
  methods: Method[];
  ks: number[];
  seeds: number[];
  options: UnlearnOptionsInput;
  preset?: Preset;
  resize: ResizeMode;
}

export interface CheckManifestJob {
  kind: 'checkManifest';
  manifest: string;
  /** To check each image against the model's input; without it only paths and labels are checked. */
  modelPath?: string;
  resize: ResizeMode;
}

export interface BackendJob {
  kind: 'backend';
  backend: BackendRequest;
}

/** An image file and its label (a class index of the model). */
export interface LabelledFile {
  file: string;
  label: number;
}

/** The model's prediction for each image a view shows (the gallery's page). */
export interface PredictJob {
  kind: 'predict';
  backend: BackendRequest;
  modelPath: string;
  files: string[];
  resize: ResizeMode;
}

export interface PredictResult {
  /** By file, in order; null where the image could not be read. */
  predictions: Array<number | null>;
}

/** The pre-flight estimate for instances the user may forget (src/engine/core/unseen.ts). */
export interface PreflightJob {
  kind: 'preflight';
  backend: BackendRequest;
  modelPath: string;
  instances: LabelledFile[];
  /** Other training images, for each instance's rank among its class (a sample is enough). */
  members?: LabelledFile[];
  /** Held-out data (class-folder dataset or manifest with test rows). */
  testData?: string;
  resize: ResizeMode;
}

export interface PreflightResult {
  /** Where the held-out side came from ('held-out data', 'shifted copies of the instances'; 'none' when nothing could be read). */
  heldOutSource: string;
  /** By instance, in order; null where the image could not be read. */
  instances: Array<{ file: string; verdict: 'typical' | 'memorised' | null; stillCorrect: number | null }>;
}

/** The model inspector: layers, shapes, parameters and weight statistics of a model as on disk (src/engine/jobs/modelInspector.ts). */
export interface InspectJob {
  kind: 'inspect';
  backend: BackendRequest;
  modelPath: string;
}

/** The model inspector: which weights the given images rely on (MAS importance), before unlearning. */
export interface ImportanceJob {
  kind: 'importance';
  backend: BackendRequest;
  modelPath: string;
  images: string[];
  resize: ResizeMode;
}

/** A run's adversarial examples made again for its report: the model it started from, its instances, its options (seed, attack). */
export interface AdversarialJob {
  kind: 'adversarial';
  backend: BackendRequest;
  modelPath: string;
  instances: LabelledFile[];
  /** The run's options as its record has them (resolved again in the engine: defaults for what an older record lacks). */
  options: UnlearnOptionsInput;
  resize: ResizeMode;
}

export type EngineRequest =
  UnlearnJob | ExperimentJob | CheckManifestJob | BackendJob | PredictJob | PreflightJob | InspectJob | ImportanceJob | AdversarialJob;

export interface ExperimentRow {
  k: number;
  seed: number;
  method: Method | 'before';
  forget: number;
  retain: number;
  test: number;
  steps: number;
  seconds: number;
  stopped: string;
  /** Membership-inference attack accuracy on per-sample losses, forget vs as many test images (0.5: cannot tell); k >= 4. */
  audit?: number;
  /**
   * Where a model retrained without the forget set exists (the embedded models' shipped references):
   * this row minus it, in forget and test accuracy and membership AUC over the whole test set.
   */
  gap?: { forget: number; test: number; membershipAuc: number };
}

export interface ExperimentSummary {
  model: string;
  dataset: string;
  backend: string;
  rows: ExperimentRow[];
}

export interface CheckManifestResult {
  problems: ManifestProblem[];
  classNames: string[];
}

/** The result type of each request kind. */
export interface EngineResults {
  unlearn: RunRecord;
  experiment: ExperimentSummary;
  checkManifest: CheckManifestResult;
  predict: PredictResult;
  preflight: PreflightResult;
  backend: BackendInfo;
  inspect: ModelSummary;
  importance: ImportanceSummary;
  adversarial: AdversarialPreview;
}

export type EngineProgress =
  | UnlearnProgress
  | { phase: 'evaluate' | 'save' | 'load' }
  /** Something the user should know that does not stop the run (merged duplicates, a suspicious class order). */
  | { phase: 'warning'; message: string }
  | { phase: 'experiment'; method: string; k: number; seed: number; inner: UnlearnProgress | { phase: 'evaluate' } };

export interface EngineErrorPayload {
  /** 'UserInputError' | 'CancelledError' | 'Error' … */
  name: string;
  message: string;
  /** The file at fault, for UserInputError. */
  file?: string;
  stack?: string;
}

export type HostToWorker =
  { type: 'request'; id: number; request: EngineRequest } | { type: 'cancel'; id: number } | { type: 'answer'; id: number; answer: GuardAnswer };

export type WorkerToHost =
  | { type: 'progress'; id: number; progress: EngineProgress }
  | { type: 'result'; id: number; result: EngineResults[keyof EngineResults] }
  | { type: 'error'; id: number; error: EngineErrorPayload }
  | { type: 'question'; id: number; trip: GuardTrip };
