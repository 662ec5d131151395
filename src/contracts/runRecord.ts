/**
 * The run record (`run.json`): what one erasure request did, written by the engine beside the new
 * version (`<model folder>.versions/<run id>/run.json`) and read by the extension's views and by
 * continual unlearning (a version's record names the model it started from, so runs form chains).
 *
 * Schema: `format: 'unlearn-lens-run'` and `version: 2`. Every path in it (the model the run
 * started from, the version it made, the forget instances' image files) is stored relative to the
 * record's own folder, so chains survive moving the workspace (another clone, a Codespace); in
 * memory, after `parseRunRecord`, they are absolute. Version 1 (`format: 'unlearn-lens-run/1'`,
 * absolute paths) is still read. A record is validated when written and when read; one that fails
 * is refused with a message naming run.json.
 *
 * No runtime dependencies, and nothing from src/engine or src/extension.
 */
import * as path from 'node:path';
import { isModelContract, type ModelContract } from './modelContract';

export const RUN_RECORD_FORMAT = 'unlearn-lens-run';

/** Where the versions of a model live: beside its folder, `<model folder>.versions`. */
export function versionsDirFor(modelJson: string): string {
  return `${path.dirname(path.resolve(modelJson))}.versions`;
}
export const RUN_RECORD_VERSION = 2;
/** The tag of version 1 records (absolute paths, no `version` field). */
export const RUN_RECORD_FORMAT_V1 = 'unlearn-lens-run/1';

export type StopReason = 'forgotten' | 'max-epochs' | 'guard' | 'diverged' | 'settled';
export const STOP_REASONS: readonly StopReason[] = ['forgotten', 'max-epochs', 'guard', 'diverged', 'settled'];

export interface SplitAccuracy {
  forget: number;
  retain?: number;
  test?: number;
}

export interface RecordGuard {
  agreement: number;
  minAgreement: number;
  probeSize: number;
  tripped?: { step: number; agreement: number; action: 'report' | 'stop'; rolledBackToStep?: number; answer?: 'stop' | 'continue' };
}

export interface RecordLayerChange {
  name: string;
  delta: number;
  relative: number;
  units: number[];
  importance?: number[];
}

export interface RecordAudit {
  accuracy: number;
  pairs: number;
  medianLoss: { forget: number; heldOut: number };
}

export type RecordMethod = 'naive' | 'adv' | 'imp' | 'adv+imp' | 'oracle';
const METHODS: readonly string[] = ['naive', 'adv', 'imp', 'adv+imp', 'oracle'];

/** What the forget term asked of each instance; relabel runs keep the new labels. */
export type RecordObjective = { kind: 'misclassify' } | { kind: 'unseen' } | { kind: 'relabel'; labels: number[] };
const OBJECTIVE_KINDS = ['misclassify', 'unseen', 'relabel'];

/** The options a record keeps: everything the run used; views read these fields. */
export interface RecordOptions {
  method: RecordMethod;
  maxEpochs: number;
  objective: RecordObjective;
  attack: { epsilon: number; steps: number };
}

/** A run record in memory (paths absolute). `Options`: the engine's full option type. */
export interface RunRecordOf<Options extends RecordOptions = RecordOptions> {
  format: typeof RUN_RECORD_FORMAT;
  version: typeof RUN_RECORD_VERSION;
  id: string;
  createdAt: string;
  backend: string;
  /** The model the run started from, with what it is against the model contract (absent in version 1). */
  model: { path: string; sha256: string; contract?: ModelContract };
  /** The version the run made (its model.json). */
  result: { path: string; sha256: string };
  options: Options;
  /** `ids`: the instances' image files; `labels` etc. by instance, in the same order. */
  forget: { ids: string[]; labels: number[]; predictedBefore: number[]; predictedAfter: number[]; classNames?: string[] };
  before: SplitAccuracy;
  after: SplitAccuracy;
  steps: number;
  epochs: number;
  seconds: { attack: number; importance: number; unlearn: number; total: number };
  stopped: StopReason;
  guard: RecordGuard;
  layerChanges: RecordLayerChange[];
  /** ADV runs: adversarial examples made, and the share the original model classifies as their target. */
  adversarial?: { examples: number; reachedTarget: number };
  /** Membership-inference audit before and after (absent without held-out data or with too few instances). */
  audit?: { before: RecordAudit; after: RecordAudit };
  /**
   * Continual runs: the instances earlier runs in the chain erased, checked before and after
   * (`cameBack`: image files wrong before this run and predicted as their label after it;
   * `forgottenAgain`: the reverse, absent in records written before it was kept).
   */
  earlier?: { instances: number; missing: number; rememberedBefore: number; rememberedAfter: number; cameBack: string[]; forgottenAgain?: string[] };
}

export type RunRecord = RunRecordOf;

/** Why a file is not read as a run record: not one of ours at all, a damaged one, or one from a newer Unlearn Lens. */
export type RunRecordProblem = 'not-a-record' | 'invalid' | 'newer';

export class RunRecordError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly problem: RunRecordProblem = 'invalid',
  ) {
    super(message);
    this.name = 'RunRecordError';
  }
}

// ---------------------------------------------------------------------------------------------
// Validation: hand-written guards, each problem as "field: what is wrong".

type Obj = Record<string, unknown>;
/** `at.key`, or `key` at the top level. */
const field = (at: string, key: string): string => (at ? `${at}.${key}` : key);
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  readonly problems: string[] = [];
  private note(at: string, what: string): false {
    this.problems.push(`${at} ${what}`);
    return false;
  }
  object(v: unknown, at: string): v is Obj {
    return isObj(v) || this.note(at, 'is not an object');
  }
  string(v: unknown, at: string): v is string {
    return typeof v === 'string' || this.note(at, 'is not a string');
  }
  /** A measurement: a number (NaN and infinities are written as null by JSON, and read back as NaN). */
  measure(o: Obj, key: string, at: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (v === null) o[key] = NaN;
    else if (typeof v !== 'number') this.note(field(at, key), 'is not a number');
  }
  /** A count: a whole number >= 0. */
  count(o: Obj, key: string, at: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (!Number.isSafeInteger(v) || (v as number) < 0) this.note(field(at, key), 'is not a whole number');
  }
  strings(v: unknown, at: string): v is string[] {
    return (Array.isArray(v) && v.every((s) => typeof s === 'string')) || this.note(at, 'is not a list of strings');
  }
  integers(v: unknown, at: string, length?: number): v is number[] {
    if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) return this.note(at, 'is not a list of whole numbers');
    return length === undefined || v.length === length || this.note(at, `has ${v.length} entries, not ${length}`);
  }
  numbers(o: Obj, key: string, at: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (!Array.isArray(v)) {
      this.note(field(at, key), 'is not a list of numbers');
      return;
    }
    v.forEach((x, i) => {
      if (x === null) v[i] = NaN;
      else if (typeof x !== 'number') this.note(`${field(at, key)}[${i}]`, 'is not a number');
    });
  }
}

/** The problems of `r` as a record in memory (paths absolute after parsing); empty when it is one. Normalises null measurements to NaN. */
export function runRecordProblems(r: unknown): string[] {
  const c = new Checker();
  if (!c.object(r, 'the record')) return c.problems;
  if (r.format !== RUN_RECORD_FORMAT) c.problems.push(`format is ${JSON.stringify(r.format)}, not "${RUN_RECORD_FORMAT}"`);
  if (r.version !== RUN_RECORD_VERSION) c.problems.push(`version is ${JSON.stringify(r.version)}, not ${RUN_RECORD_VERSION}`);
  for (const key of ['id', 'createdAt', 'backend'] as const) c.string(r[key], key);
  for (const key of ['model', 'result'] as const) {
    const v = r[key];
    if (c.object(v, key)) {
      c.string(v.path, `${key}.path`);
      c.string(v.sha256, `${key}.sha256`);
    }
  }
  if (isObj(r.model) && r.model.contract !== undefined && !isModelContract(r.model.contract)) c.problems.push('model.contract is not a model contract summary');
  if (c.object(r.options, 'options')) {
    const o = r.options;
    if (!METHODS.includes(o.method as string)) c.problems.push(`options.method is ${JSON.stringify(o.method)}, not one of ${METHODS.join(', ')}`);
    c.count(o, 'maxEpochs', 'options');
    if (c.object(o.objective, 'options.objective')) {
      const kind = o.objective.kind;
      if (kind === 'relabel') c.integers(o.objective.labels, 'options.objective.labels');
      else if (!OBJECTIVE_KINDS.includes(kind as string)) c.problems.push(`options.objective.kind is ${JSON.stringify(kind)}`);
    }
    if (c.object(o.attack, 'options.attack')) {
      c.measure(o.attack, 'epsilon', 'options.attack');
      c.count(o.attack, 'steps', 'options.attack');
    }
  }
  let k: number | undefined;
  if (c.object(r.forget, 'forget')) {
    const f = r.forget;
    if (c.strings(f.ids, 'forget.ids')) k = f.ids.length;
    for (const key of ['labels', 'predictedBefore', 'predictedAfter'] as const) c.integers(f[key], `forget.${key}`, k);
    if (f.classNames !== undefined) c.strings(f.classNames, 'forget.classNames');
  }
  for (const key of ['before', 'after'] as const) {
    if (c.object(r[key], key)) {
      c.measure(r[key] as Obj, 'forget', key);
      c.measure(r[key] as Obj, 'retain', key, true);
      c.measure(r[key] as Obj, 'test', key, true);
    }
  }
  c.count(r, 'steps', '');
  c.count(r, 'epochs', '');
  if (c.object(r.seconds, 'seconds')) for (const key of ['attack', 'importance', 'unlearn', 'total']) c.measure(r.seconds, key, 'seconds');
  if (!STOP_REASONS.includes(r.stopped as StopReason)) c.problems.push(`stopped is ${JSON.stringify(r.stopped)}, not one of ${STOP_REASONS.join(', ')}`);
  if (c.object(r.guard, 'guard')) {
    const g = r.guard;
    c.measure(g, 'agreement', 'guard');
    c.measure(g, 'minAgreement', 'guard');
    c.count(g, 'probeSize', 'guard');
    if (g.tripped !== undefined && c.object(g.tripped, 'guard.tripped')) {
      const t = g.tripped;
      c.count(t, 'step', 'guard.tripped');
      c.measure(t, 'agreement', 'guard.tripped');
      if (t.action !== 'report' && t.action !== 'stop') c.problems.push(`guard.tripped.action is ${JSON.stringify(t.action)}`);
      c.count(t, 'rolledBackToStep', 'guard.tripped', true);
      if (t.answer !== undefined && t.answer !== 'stop' && t.answer !== 'continue') c.problems.push(`guard.tripped.answer is ${JSON.stringify(t.answer)}`);
    }
  }
  if (!Array.isArray(r.layerChanges)) c.problems.push('layerChanges is not a list');
  else
    r.layerChanges.forEach((l: unknown, i) => {
      const at = `layerChanges[${i}]`;
      if (!c.object(l, at)) return;
      c.string(l.name, `${at}.name`);
      c.measure(l, 'delta', at);
      c.measure(l, 'relative', at);
      c.numbers(l, 'units', at);
      c.numbers(l, 'importance', at, true);
    });
  if (r.adversarial !== undefined && c.object(r.adversarial, 'adversarial')) {
    c.count(r.adversarial, 'examples', 'adversarial');
    c.measure(r.adversarial, 'reachedTarget', 'adversarial');
  }
  if (r.audit !== undefined && c.object(r.audit, 'audit')) {
    for (const key of ['before', 'after'] as const) {
      const a = r.audit[key];
      const at = `audit.${key}`;
      if (!c.object(a, at)) continue;
      c.measure(a, 'accuracy', at);
      c.count(a, 'pairs', at);
      if (c.object(a.medianLoss, `${at}.medianLoss`)) {
        c.measure(a.medianLoss, 'forget', `${at}.medianLoss`);
        c.measure(a.medianLoss, 'heldOut', `${at}.medianLoss`);
      }
    }
  }
  if (r.earlier !== undefined && c.object(r.earlier, 'earlier')) {
    for (const key of ['instances', 'missing', 'rememberedBefore', 'rememberedAfter']) c.count(r.earlier, key, 'earlier');
    c.strings(r.earlier.cameBack, 'earlier.cameBack');
    if (r.earlier.forgottenAgain !== undefined) c.strings(r.earlier.forgottenAgain, 'earlier.forgottenAgain');
  }
  return c.problems;
}

export function isRunRecord(r: unknown): r is RunRecord {
  return runRecordProblems(r).length === 0;
}

// ---------------------------------------------------------------------------------------------
// Paths: relative on disk, absolute in memory

/** Maps every path field of a record (model, result, forget ids, cameBack, forgottenAgain) through `f`, in a copy. */
function mapPaths<R extends Obj>(r: R, f: (p: string) => string): R {
  const out = JSON.parse(JSON.stringify(r)) as Obj;
  const each = (o: unknown, key: string) => {
    if (isObj(o) && typeof o[key] === 'string') o[key] = f(o[key] as string);
  };
  each(out.model, 'path');
  each(out.result, 'path');
  const ids = isObj(out.forget) ? out.forget.ids : undefined;
  if (Array.isArray(ids) && isObj(out.forget)) out.forget.ids = ids.map((p) => (typeof p === 'string' ? f(p) : p));
  for (const key of ['cameBack', 'forgottenAgain']) {
    const list = isObj(out.earlier) ? out.earlier[key] : undefined;
    if (Array.isArray(list) && isObj(out.earlier)) out.earlier[key] = list.map((p) => (typeof p === 'string' ? f(p) : p));
  }
  return out as R;
}

/** Forward slashes on disk, so a record reads the same on every system. */
const toPortable = (p: string): string => p.split(path.sep).join('/');

/**
 * run.json's text for `record` (paths absolute, as in memory), to be written into `folder`: paths
 * relative to `folder`. Throws RunRecordError when the record does not meet the schema.
 */
export function serializeRunRecord(record: RunRecordOf<RecordOptions>, folder: string): string {
  const file = path.join(folder, 'run.json');
  const problems = runRecordProblems(JSON.parse(JSON.stringify(record)));
  if (problems.length)
    throw new RunRecordError(
      `The run record for ${file} does not meet its schema (${problems.slice(0, 5).join('; ')}); nothing was written. This is a bug in Unlearn Lens: please ` +
        `report it with this message.`,
      file,
    );
  const onDisk = mapPaths(record as unknown as Obj, (p) => (path.isAbsolute(p) ? toPortable(path.relative(folder, p)) || '.' : p));
  return JSON.stringify(onDisk, null, 2);
}

/** The record's JSON as in memory (version 2, absolute paths), before validation; throws RunRecordError for what is not one of ours or is newer. */
function readRecordJson(text: string, file: string): { record: Obj; from: number } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RunRecordError(
      `${file} is not valid JSON (${(e as Error).message}); it is not a run record Unlearn Lens can read. Remove the version folder, or restore run.json ` +
        `from a copy.`,
      file,
      'not-a-record',
    );
  }
  if (!isObj(json)) throw new RunRecordError(`${file} is not a run record (not a JSON object).`, file, 'not-a-record');
  const folder = path.dirname(path.resolve(file));
  if (json.format === RUN_RECORD_FORMAT_V1) {
    // Version 1: the same fields with absolute paths; it becomes version 2 in memory.
    return { record: { ...mapPaths(json, (p) => path.resolve(folder, p)), format: RUN_RECORD_FORMAT, version: RUN_RECORD_VERSION }, from: 1 };
  }
  if (json.format === RUN_RECORD_FORMAT) {
    if (typeof json.version === 'number' && json.version > RUN_RECORD_VERSION) {
      throw new RunRecordError(
        `${file} is a run record of version ${json.version}, newer than this Unlearn Lens reads (${RUN_RECORD_VERSION}). Update Unlearn Lens to read it.`,
        file,
        'newer',
      );
    }
    return { record: mapPaths(json, (p) => path.resolve(folder, p.split('/').join(path.sep))), from: RUN_RECORD_VERSION };
  }
  throw new RunRecordError(
    `${file} is not an Unlearn Lens run record (its format is ${JSON.stringify(json.format)}, not "${RUN_RECORD_FORMAT}"). Move other files out of the ` +
      `.versions folder.`,
    file,
    'not-a-record',
  );
}

function refuseInvalid(file: string, problems: string[], from: number): never {
  const list = `${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`;
  const fix =
    from === 1
      ? 'It was written by an early Unlearn Lens that did not record everything this one shows; its model version is unaffected. Keep it, or remove the ' +
        'version folder to hide this message.'
      : 'It was changed or damaged after the run; restore it from a copy, or remove the version folder.';
  throw new RunRecordError(`${file} is not a valid run record: ${list}. ${fix}`, file);
}

/**
 * A record read from `file` (run.json; `text` its content) as it is in memory: migrated from
 * version 1, paths resolved against the record's folder, validated. Throws RunRecordError, naming
 * the file and what to do, when it cannot be read as one.
 */
export function parseRunRecord(text: string, file: string): RunRecord {
  const { record, from } = readRecordJson(text, file);
  const problems = runRecordProblems(record);
  if (problems.length) refuseInvalid(file, problems, from);
  return record as unknown as RunRecord;
}

/** What links a version to the runs before it: the model its run started from and the instances it erased. */
export interface RunLinks {
  model: string;
  forget: { ids: string[]; labels: number[] };
}

/**
 * Only the links of the record in `file` (continual unlearning follows them), checked as strictly as
 * parseRunRecord but on those fields alone, so a version 1 record that lacks a later field still links.
 */
export function parseRunLinks(text: string, file: string): RunLinks {
  const { record, from } = readRecordJson(text, file);
  const c = new Checker();
  const model = isObj(record.model) ? record.model.path : undefined;
  c.string(model, 'model.path');
  const f = isObj(record.forget) ? record.forget : {};
  if (c.strings(f.ids, 'forget.ids')) c.integers(f.labels, 'forget.labels', f.ids.length);
  if (c.problems.length) refuseInvalid(file, c.problems, from);
  return { model: model as string, forget: { ids: f.ids as string[], labels: f.labels as number[] } };
}
