/**
 * `unlearn-lens unlearn`: one erasure request from the command line, the same job the extension's
 * Unlearn Selected Samples runs (src/engine/jobs.ts). The model and the data are only read; the
 * result is a new version in `<model folder>.versions/<run id>/` with its run record.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, type BackendChoice } from '../engine/backend';
import { datasetRootOf, defaultTestData } from '../engine/data/selection';
import { isManifestFile } from '../engine/data/manifest';
import { UserInputError } from '../engine/errors';
import type { GuardAnswer, GuardTrip } from '../engine/guard';
import { runUnlearnJob } from '../engine/jobs';
import { FORGET_TERMS, GUARD_ACTIONS, METHODS, PRESETS, type ForgetTerm, type GuardAction, type Method, type Preset, type UnlearnOptionsInput } from '../engine/options';
import { versionsDirFor } from '../engine/request';
import type { ResizeMode } from '../engine/data/imageFolder';
import type { ForgetSelection, RelabelChoice } from '../shared/protocol';
import { auditText, describeProgress, GUARD_CHOICES, guardQuestion, runSummary } from '../shared/runSummary';
import { pct, StatusLine } from './format';
import { modelContractText } from '../contracts/modelContract';

export const UNLEARN_USAGE = `Usage:
  unlearn-lens unlearn --model DIR/model.json IMAGE_OR_CLASS_FOLDER...
  unlearn-lens unlearn --model DIR/model.json --manifest FILE.csv|.jsonl --lines LIST

Forgets the given training instances and saves the result as a new version beside the model
(<model folder>.versions/<run id>/model.json and run.json); the model and the data are only read.

  --model PATH        the TensorFlow.js model (model.json) to start from
  IMAGE_OR_FOLDER...  images, or class folders, inside a class-folder dataset (label = class folder)
  --dataset DIR       that dataset's folder (default: a class folder's parent, an image's grandparent)
  --manifest FILE     a .csv/.jsonl manifest (path, label[, split]) ...
  --lines LIST        ... and the lines of it to forget, as an editor numbers them: 2,5,9-12
  --test PATH         held-out data to measure collateral damage on (default: a manifest's
                      split = test rows, or a 'test' folder beside a dataset folder called 'train')
  --method M          ${METHODS.join(' | ')} (default adv+imp)
  --preset P          ${Object.keys(PRESETS).join(' | ')} (default paper: the method as published)
  --forget-term T     ${FORGET_TERMS.join(' | ')}: the forget loss (default: the preset's;
                      paper: negative-ce; nearest-ce with --method adv halves the damage at k <= 16,
                      docs/grid.md)
  --relabel R         relabel instead of misclassify: nearest (the class the model ranks next
                      for each instance), one class for all (name or index), or one per instance
                      in the order given (comma list); success = every instance predicted as its new label
  --max-epochs N      cap on unlearning epochs (default 1000)
  --guard-action A    ${GUARD_ACTIONS.join(' | ')}: what the collateral-damage guard does when it trips
                      (default: the preset's; ask prompts on a terminal and stops elsewhere)
  --resize R          none | nearest | bilinear: images of another size than the model's input
                      (default none: refused with an error naming the file)
  --backend B         ${BACKEND_CHOICES.join(' | ')} (default auto)
  --json FILE         also write the run record there
`;

/** --relabel: "nearest", or class names / indices separated by commas. */
export function parseRelabel(value: string | undefined): RelabelChoice | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === 'nearest') return { kind: 'nearest' };
  const classes = value.split(',').map((s) => s.trim());
  if (classes.length === 0 || classes.some((c) => c === '')) throw new UserInputError(`--relabel takes nearest, a class, or a comma list of classes (got "${value}").`);
  return { kind: 'classes', classes };
}

/** "2,5,9-12" (1-based, as an editor shows them) → 0-based line indices. */
export function parseLines(value: string): number[] {
  const lines = new Set<number>();
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || from < 1 || to < from) throw new UserInputError(`--lines takes line numbers from 1 as an editor shows them, like 2,5,9-12 (got "${part}").`);
    for (let line = from; line <= to; line++) lines.add(line - 1);
  }
  if (lines.size === 0) throw new UserInputError('--lines is empty: name the manifest lines to forget, like 2,5,9-12.');
  return [...lines].sort((a, b) => a - b);
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UserInputError(`Unknown ${what} "${value}"; choose from ${allowed.join(', ')}.`);
  return value as T;
}

/** The guard's question on the terminal; anything but "c" answers stop. */
async function askOnTerminal(trip: GuardTrip, status: StatusLine): Promise<GuardAnswer> {
  status.clear();
  const { message, detail } = guardQuestion(trip);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const reply = await rl.question(`${message}\n${detail}\n[s] ${GUARD_CHOICES.stop} / [c] ${GUARD_CHOICES.continue}: `);
    return /^\s*c/i.test(reply) ? 'continue' : 'stop';
  } finally {
    rl.close();
  }
}

export async function runUnlearnCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string' },
      dataset: { type: 'string' },
      manifest: { type: 'string' },
      lines: { type: 'string' },
      test: { type: 'string' },
      method: { type: 'string', default: 'adv+imp' },
      preset: { type: 'string' },
      'forget-term': { type: 'string' },
      relabel: { type: 'string' },
      'max-epochs': { type: 'string' },
      'guard-action': { type: 'string' },
      resize: { type: 'string', default: 'none' },
      backend: { type: 'string', default: 'auto' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(UNLEARN_USAGE);
    return 0;
  }
  if (!values.model) throw new UserInputError(`unlearn needs --model PATH/model.json.\n\n${UNLEARN_USAGE}`);
  const modelPath = path.resolve(values.model);
  if (!(await fs.stat(modelPath).catch(() => undefined))?.isFile()) throw new UserInputError(`${modelPath} does not exist. Point --model at a TensorFlow.js model.json.`, modelPath);

  let selection: ForgetSelection;
  if (values.manifest) {
    if (positionals.length) throw new UserInputError('Give either image files and folders or --manifest with --lines, not both.');
    if (!isManifestFile(values.manifest)) throw new UserInputError(`${values.manifest} is not a .csv or .jsonl manifest.`, values.manifest);
    if (!values.lines) throw new UserInputError(`--manifest needs --lines: which lines of ${values.manifest} to forget, like 2,5,9-12.`);
    selection = { kind: 'manifest', manifest: path.resolve(values.manifest), lines: parseLines(values.lines) };
  } else {
    if (values.lines) throw new UserInputError('--lines goes with --manifest.');
    if (positionals.length === 0) throw new UserInputError(`Nothing is selected to forget: name images or class folders, or --manifest with --lines.\n\n${UNLEARN_USAGE}`);
    const paths = positionals.map((p) => path.resolve(p));
    selection = { kind: 'files', paths, datasetRoot: values.dataset ? path.resolve(values.dataset) : await datasetRootOf(paths) };
  }

  const method = oneOf(values.method, METHODS, 'method') as Method;
  const preset = oneOf(values.preset, Object.keys(PRESETS) as Preset[], 'preset');
  const forgetTerm = oneOf(values['forget-term'], FORGET_TERMS, 'forget term') as ForgetTerm | undefined;
  const guardAction = oneOf(values['guard-action'], GUARD_ACTIONS, 'guard action') as GuardAction | undefined;
  const resize = oneOf(values.resize, ['none', 'nearest', 'bilinear'] as const, 'resize mode') as ResizeMode;
  const backend = oneOf(values.backend, BACKEND_CHOICES, 'backend') as BackendChoice;
  let maxEpochs: number | undefined;
  if (values['max-epochs'] !== undefined) {
    maxEpochs = Number(values['max-epochs']);
    if (!Number.isInteger(maxEpochs) || maxEpochs < 1) throw new UserInputError(`--max-epochs takes a whole number >= 1 (got "${values['max-epochs']}").`);
  }
  const options: UnlearnOptionsInput = { method, ...(maxEpochs ? { maxEpochs } : {}), ...(forgetTerm ? { forgetTerm } : {}), ...(guardAction ? { guard: { action: guardAction } } : {}) };
  const relabel = parseRelabel(values.relabel);
  if (relabel && forgetTerm && forgetTerm !== 'negative-ce') throw new UserInputError('--relabel trains toward the new labels (+CE); leave out --forget-term.');
  const testData = values.test ? path.resolve(values.test) : await defaultTestData(selection);
  const versionsDir = versionsDirFor(modelPath);

  const status = new StatusLine();
  // Only a person at a terminal is asked; with nobody to ask, the engine stops and rolls back.
  const canAsk = process.stdin.isTTY === true;
  if (guardAction === 'ask' && !canAsk) console.error('--guard-action ask: no terminal to ask on, so a tripped guard will stop the run and roll back.');
  console.error(`unlearn: ${selection.kind === 'files' ? `${selection.paths.length} path(s) in ${selection.datasetRoot}` : `${selection.lines.length} line(s) of ${selection.manifest}`}, ${method}${preset ? ` [${preset}]` : ''}, model ${modelPath}${testData ? `, test data ${testData}` : ''}`);
  const record = await runUnlearnJob(
    { kind: 'unlearn', backend: { choice: backend, searchPaths: [process.cwd()] }, modelPath, versionsDir, selection, options, ...(preset ? { preset } : {}), resize, ...(testData ? { testData } : {}), ...(relabel ? { relabel } : {}) },
    signal,
    (p) => status.update(describeProgress(p), p.phase !== 'attack' && p.phase !== 'unlearn'),
    canAsk ? (trip) => askOnTerminal(trip, status) : undefined,
  );
  status.clear();
  const split = (name: 'forget' | 'test') =>
    record.before[name] === undefined ? '' : `${name} ${pct(record.before[name]!)} → ${pct(record.after[name]!)}`;
  if (record.model.contract) console.log(modelContractText(record.model.contract));
  console.log(runSummary(record));
  console.log([split('forget'), split('test')].filter(Boolean).join(', ') + `; ${record.seconds.total.toFixed(1)} s on ${record.backend}`);
  console.log(auditText(record));
  console.log(`new version: ${record.result.path} (the original ${record.model.path} is unchanged)`);
  if (values.json) {
    // The run record as saved in run.json (the adversarial preview is for the report only, never written).
    const { preview: _preview, ...saved } = record;
    await fs.writeFile(path.resolve(values.json), JSON.stringify(saved, null, 2));
    console.error(`wrote ${path.resolve(values.json)}`);
  }
  return 0;
}
