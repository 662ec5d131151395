/**
 * `unlearn-lens unlearn`: one erasure request from the command line, the same job the extension's
 * Unlearn Selected Samples runs (src/engine/jobs/jobs.ts). The model and the data are only read; the
 * result is a new version in `<model folder>.versions/<run id>/` with its run record.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { parseArgs } from 'node:util';
import {
  BACKEND_CHOICES,
  type BackendChoice,
  FORGET_TERMS,
  type ForgetTerm,
  GUARD_ACTIONS,
  type GuardAction,
  type Method,
  METHODS,
  OBJECTIVE_NAMES,
  type ObjectiveName,
  parseRelabel,
  type Preset,
  PRESETS,
  type RelabelChoice,
  type ResizeMode,
  type UnlearnOptionsInput,
} from '../contracts/options';
import { datasetRootOf, defaultTestData } from '../engine/data/selection';
import { isManifestFile, readManifest } from '../engine/data/manifest';
import { NothingToForgetError, UserInputError } from '../contracts/errors';
import { checkOutputFile, modelShardPaths, writeFileAtomically, type ProtectedPath } from '../engine/data/outputFiles';
import type { ForgetSelection, GuardAnswer, GuardTrip } from '../contracts/protocol';
import { runUnlearnJob } from '../engine/jobs/jobs';
import { versionsDirFor } from '../contracts/runRecord';
import { auditText, describeProgress, GUARD_CHOICES, guardQuestion, runSummary } from '../shared/runSummary';
import { StatusLine } from './format';
import { pct } from '../shared/percent';
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
  --objective O       misclassify (the paper, default) | relabel (with --relabel) | unseen: as if
                      never seen — each instance's loss raised to what a model that never trained on
                      it would give it (estimated from the --test data when there is some), the rest
                      anchored; typical images stay correct, memorised ones do not
  --relabel R         relabel instead of misclassify: nearest (the class the model ranks next
                      for each instance), one class for all (name or index), or one per instance
                      in the order given (comma list); success = every instance predicted as its new label
  --max-epochs N      cap on unlearning epochs (default 1000)
  --guard-action A    ${GUARD_ACTIONS.join(' | ')}: what the collateral-damage guard does when it trips
                      (default: the preset's; ask prompts on a terminal and stops elsewhere)
  --resize R          none | nearest | bilinear: images of another size than the model's input
                      (default none: refused with an error naming the file)
  --backend B         ${BACKEND_CHOICES.join(' | ')} (default auto)
  --json FILE         also write the run record there (a new file, or an earlier run record;
                      never an input, nor inside the model, data or versions folder)
  --allow-outside     read images outside the dataset folder (manifest rows with ../ or absolute
                      paths, symlinks that lead out); refused by default
`;

/** --relabel: "nearest", or class names / indices separated by commas. */
function relabelFlag(value: string | undefined): RelabelChoice | undefined {
  if (value === undefined) return undefined;
  try {
    const choice = parseRelabel(value);
    if (choice) return choice;
  } catch {
    // An empty entry: the same message as an empty value.
  }
  throw new UserInputError(`--relabel takes nearest, a class, or a comma list of classes (got "${value}").`);
}

/** Most manifest lines one request may name (a bound, so a typo cannot ask for billions). */
export const MAX_SELECTED_LINES = 1_000_000;

/**
 * "2,5,9-12" (1-based, as an editor shows them) → 0-based line indices, sorted, each once.
 * `lineCount`: the manifest's lines; numbers past it are refused with a message naming it
 * (`file`), before anything is expanded, so no range can blow up memory or loop for long.
 */
export function parseLines(value: string, lineCount?: number, file = 'the manifest'): number[] {
  const ranges: Array<[number, number]> = [];
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || from < 1 || to < from) throw new UserInputError(`--lines takes line numbers from 1 as an editor shows them, like 2,5,9-12 (got "${part}").`);
    ranges.push([from, to]);
  }
  if (ranges.length === 0) throw new UserInputError('--lines is empty: name the manifest lines to forget, like 2,5,9-12.');
  const limit = lineCount ?? MAX_SELECTED_LINES;
  // Beyond a manifest's end (or any safe integer): refused, naming what is there.
  const past = ranges.filter(([, to]) => to > limit || !Number.isSafeInteger(to)).map(([from, to]) => [Math.max(from, limit + 1), to] as const);
  if (past.length) {
    const text = past.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(', ');
    const plural = past.length > 1 || past[0][0] !== past[0][1];
    if (lineCount === undefined) throw new UserInputError(`--lines ${text}: at most ${MAX_SELECTED_LINES} lines can be named.`);
    throw new UserInputError(
      `${plural ? 'Lines' : 'Line'} ${text} ${plural ? 'are' : 'is'} past the end of ${file}, which has ${lineCount} line${lineCount === 1 ? '' : 's'}. Name ` +
        `lines that hold an image and its label.`,
      file,
    );
  }
  // Merge the ranges, then expand: at most `limit` numbers.
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [from, to] of ranges) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  const total = merged.reduce((n, [from, to]) => n + to - from + 1, 0);
  if (total > MAX_SELECTED_LINES)
    throw new UserInputError(`--lines names ${total} lines; at most ${MAX_SELECTED_LINES} can be forgotten in one request. Select fewer lines.`);
  const lines: number[] = [];
  for (const [from, to] of merged) for (let line = from; line <= to; line++) lines.push(line - 1);
  return lines;
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
      objective: { type: 'string' },
      'max-epochs': { type: 'string' },
      'guard-action': { type: 'string' },
      resize: { type: 'string', default: 'none' },
      backend: { type: 'string', default: 'auto' },
      json: { type: 'string' },
      'allow-outside': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(UNLEARN_USAGE);
    return 0;
  }
  if (!values.model) throw new UserInputError(`unlearn needs --model PATH/model.json.\n\n${UNLEARN_USAGE}`);
  const modelPath = path.resolve(values.model);
  const modelStat = await fs.stat(modelPath).catch(() => undefined);
  if (modelStat?.isDirectory()) throw new UserInputError(`${modelPath} is a folder. Point --model at the TensorFlow.js model.json inside it.`, modelPath);
  if (!modelStat?.isFile())
    throw new UserInputError(`${modelPath} ${modelStat ? 'is not a regular file' : 'does not exist'}. Point --model at a TensorFlow.js model.json.`, modelPath);

  let selection: ForgetSelection;
  if (values.manifest) {
    if (positionals.length) throw new UserInputError('Give either image files and folders or --manifest with --lines, not both.');
    if (!isManifestFile(values.manifest)) throw new UserInputError(`${values.manifest} is not a .csv or .jsonl manifest.`, values.manifest);
    if (!values.lines) throw new UserInputError(`--manifest needs --lines: which lines of ${values.manifest} to forget, like 2,5,9-12.`);
    const manifest = path.resolve(values.manifest);
    // Read once here so --lines is checked against the lines there are, before anything is expanded.
    const { lineCount } = await readManifest(manifest);
    selection = { kind: 'manifest', manifest, lines: parseLines(values.lines, lineCount, manifest) };
  } else {
    if (values.lines) throw new UserInputError('--lines goes with --manifest.');
    if (positionals.length === 0)
      throw new UserInputError(`Nothing is selected to forget: name images or class folders, or --manifest with --lines.\n\n${UNLEARN_USAGE}`);
    const paths = positionals.map((p) => path.resolve(p));
    if (values.dataset !== undefined) {
      const dataset = path.resolve(values.dataset);
      const stat = await fs.stat(dataset).catch(() => undefined);
      if (!stat?.isDirectory())
        throw new UserInputError(
          `--dataset ${dataset} ${stat ? 'is a file, not a folder' : 'does not exist'}. Point it at the class-folder dataset the images belong to (the ` +
            `folder holding one sub-folder per class).`,
          dataset,
        );
    }
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
  const options: UnlearnOptionsInput = {
    method,
    ...(maxEpochs ? { maxEpochs } : {}),
    ...(forgetTerm ? { forgetTerm } : {}),
    ...(guardAction ? { guard: { action: guardAction } } : {}),
  };
  const relabel = relabelFlag(values.relabel);
  const objective = oneOf(values.objective, OBJECTIVE_NAMES, 'objective') as ObjectiveName | undefined;
  if (objective === 'relabel' && !relabel)
    throw new UserInputError('--objective relabel needs the new labels: --relabel nearest, --relabel CLASS, or --relabel C1,C2,... (one per instance).');
  if (objective && objective !== 'relabel' && relabel) throw new UserInputError(`--relabel goes with --objective relabel, not ${objective}.`);
  if (objective === 'unseen') {
    if (forgetTerm) throw new UserInputError('--objective unseen has its own forget term (each loss raised to its target); leave out --forget-term.');
    Object.assign(options, { objective: { kind: 'unseen' }, forgetStatistics: 'running' } satisfies UnlearnOptionsInput);
  }
  if (relabel && forgetTerm && forgetTerm !== 'negative-ce') throw new UserInputError('--relabel trains toward the new labels (+CE); leave out --forget-term.');
  if (values.test !== undefined && !(await fs.stat(path.resolve(values.test)).catch(() => undefined))) {
    throw new UserInputError(
      `--test ${path.resolve(values.test)} does not exist. Point it at held-out data: a class-folder dataset or a .csv/.jsonl manifest.`,
      path.resolve(values.test),
    );
  }
  const testData = values.test ? path.resolve(values.test) : await defaultTestData(selection);
  const versionsDir = versionsDirFor(modelPath);
  // Every output is checked before the run: a bad --json costs nothing and can never land on an input.
  const jsonPath =
    values.json === undefined ? undefined : await checkOutputFile(values.json, await protectedInputs(modelPath, versionsDir, selection, testData));

  const status = new StatusLine();
  // Only a person at a terminal is asked; with nobody to ask, the engine stops and rolls back.
  const canAsk = process.stdin.isTTY === true;
  if (guardAction === 'ask' && !canAsk) console.error('--guard-action ask: no terminal to ask on, so a tripped guard will stop the run and roll back.');
  console.error(
    `unlearn: ${selection.kind === 'files' ? `${selection.paths.length} path(s) in ${selection.datasetRoot}` : `${selection.lines.length} line(s) of ${selection.manifest}`}, ${method}${preset ? ` [${preset}]` : ''}, model ${modelPath}${testData ? `, test data ${testData}` : ''}`,
  );
  let record;
  try {
    record = await runUnlearnJob(
      {
        kind: 'unlearn',
        backend: { choice: backend, searchPaths: [process.cwd()] },
        modelPath,
        versionsDir,
        selection,
        options,
        ...(preset ? { preset } : {}),
        resize,
        ...(testData ? { testData } : {}),
        ...(relabel ? { relabel } : {}),
        ...(values['allow-outside'] ? { allowOutside: true } : {}),
      },
      signal,
      (p) => {
        if (p.phase === 'warning') {
          status.clear();
          console.error(describeProgress(p));
        } else status.update(describeProgress(p), p.phase !== 'attack' && p.phase !== 'unlearn');
      },
      canAsk ? (trip) => askOnTerminal(trip, status) : undefined,
    );
  } catch (e) {
    status.clear();
    if (e instanceof NothingToForgetError) {
      console.log(e.message);
      return 0;
    }
    throw e;
  }
  status.clear();
  if (signal.aborted) console.error(`The cancel came after the new version was complete: it is saved (${record.result.path}).`);
  const split = (name: 'forget' | 'test') => (record.before[name] === undefined ? '' : `${name} ${pct(record.before[name]!)} → ${pct(record.after[name]!)}`);
  if (record.model.contract) console.log(modelContractText(record.model.contract));
  console.log(runSummary(record));
  console.log([split('forget'), split('test')].filter(Boolean).join(', ') + `; ${record.seconds.total.toFixed(1)} s on ${record.backend}`);
  console.log(auditText(record));
  console.log(`new version: ${record.result.path} (the original ${record.model.path} is unchanged)`);
  if (jsonPath) {
    // The run record as saved in run.json (the adversarial preview is for the report only, never written).
    const { preview: _preview, ...saved } = record;
    try {
      await writeFileAtomically(jsonPath, JSON.stringify(saved, null, 2));
    } catch (e) {
      throw new UserInputError(
        `The new version was saved (${record.result.path}, its run record beside it in run.json), but --json ${jsonPath} could not be written ` +
          `(${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Copy run.json from the version instead.`,
        jsonPath,
      );
    }
    console.error(`wrote ${jsonPath}`);
  }
  return 0;
}

/** What this run reads, and the folders it reads from or writes to: no output may land there. */
async function protectedInputs(modelPath: string, versionsDir: string, selection: ForgetSelection, testData: string | undefined): Promise<ProtectedPath[]> {
  const isFolder = async (p: string) => (await fs.stat(p).catch(() => undefined))?.isDirectory() === true;
  const inputs: ProtectedPath[] = [
    { path: modelPath, what: 'the model' },
    { path: path.dirname(modelPath), what: 'the model folder', folder: true },
    { path: versionsDir, what: 'the versions folder', folder: true },
    ...(await modelShardPaths(modelPath)).map((p) => ({ path: p, what: 'a weight shard of the model' })),
  ];
  if (selection.kind === 'files') {
    for (const p of selection.paths) inputs.push({ path: p, what: (await isFolder(p)) ? 'a selected folder' : 'a selected image', folder: await isFolder(p) });
    if (selection.datasetRoot) inputs.push({ path: selection.datasetRoot, what: 'the dataset folder', folder: true });
  } else {
    inputs.push(
      { path: selection.manifest, what: 'the manifest' },
      { path: path.dirname(selection.manifest), what: "the manifest's dataset folder", folder: true },
    );
    const wanted = new Set(selection.lines);
    for (const row of (await readManifest(selection.manifest)).rows)
      if (wanted.has(row.line)) inputs.push({ path: row.file, what: `the image on line ${row.line + 1} of the manifest` });
  }
  if (testData) inputs.push({ path: testData, what: 'the test data', folder: await isFolder(testData) });
  return inputs;
}
