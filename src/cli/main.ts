/**
 * `unlearn-lens`: the engine, headless.
 *
 *   unlearn-lens demo [--k 16] [--seed 0] [--methods naive,adv,imp,adv+imp] [--backend B] [--json FILE]
 *   unlearn-lens unlearn --model DIR/model.json IMAGE_OR_FOLDER... | --manifest FILE --lines 2,5-9
 *   unlearn-lens experiment --k 16,64 --seeds 0,1,2 [--methods ...] [--model M] [--json FILE]
 *   unlearn-lens bench [--k 16] [--json FILE] [--workers 1,2] [--max-epochs N] [--repeat-memory 20] [--profile]
 */
import * as fs from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../engine/runtime/backend';
import {
  BACKEND_CHOICES,
  type BackendChoice,
  DEFAULT_GUARD,
  EXPERIMENT_METHODS,
  type Method,
  METHODS,
  type Preset,
  PRESETS,
  usesAdversarial,
} from '../contracts/options';
import { embeddedDefault, embeddedModels, loadEmbeddedData, DEFAULT_MODEL } from '../engine/data/assets';
import { loadModel } from '../engine/data/modelIo';
import { resolveWorkers } from '../engine/runtime/attackPool';
import { chooseForgetIndices, runExperimentGrid, type ExperimentResult } from '../engine/jobs/experiment';
import { CancelledError, UserInputError } from '../contracts/errors';
import { StatusLine, table } from './format';
import { pct } from '../shared/percent';
import * as bench from '../engine/jobs/bench';
import { runUnlearnCommand } from './unlearn';
import { asksForHelp, commandHelp, USAGE } from './help';
import { findReferences, referencesDir } from '../engine/jobs/yardstick';
import { checkOutputFile, writeFileAtomically } from '../engine/data/outputFiles';
import { plural } from '../shared/runView';
import { preflightText, yardstickText } from './yardstickText';

function parseList<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new UserInputError(`Unknown ${what} "${item}"; choose from ${allowed.join(', ')}.`);
  return items as T[];
}

/** The embedded model called `name` (default: the demo's), or a clear error listing those there are. */
function embeddedAssets(name = DEFAULT_MODEL): ReturnType<typeof embeddedDefault> {
  const known = embeddedModels();
  if (!known.includes(name)) throw new UserInputError(`Unknown embedded model "${name}"; choose from ${known.join(', ')}.`);
  return embeddedDefault(name);
}

function parseInts(value: string, what: string): number[] {
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0) throw new UserInputError(`--${what} takes whole numbers (got "${s}").`);
    return n;
  });
}

/** A change in points to one decimal; one that rounds to zero is 0.0, never -0.0. */
function signedPoints(points: number): string {
  return (Math.abs(points) < 0.05 ? 0 : points).toFixed(1);
}

function printResult(r: ExperimentResult): void {
  const header = ['method', 'forget', 'retain', 'test', 'Δ test', 'MIA', 'steps', 'seconds', 'stopped', 'guard'];
  const mia = (a: ExperimentResult['auditBefore']) => (a ? pct(a.accuracy) : '–');
  const guardText = (g: ExperimentResult['runs'][number]['guard']) =>
    g.tripped
      ? `TRIPPED step ${g.tripped.step}: ` +
        `${pct(g.tripped.agreement, 1)}${g.tripped.rolledBackToStep !== undefined ? `, rolled back to ${g.tripped.rolledBackToStep}` : ''}`
      : `ok ${pct(g.agreement, 0)}`;
  const rows = [
    ['before', pct(r.before.forget), pct(r.before.retain), pct(r.before.test), '', mia(r.auditBefore), '', '', '', ''],
    ...r.runs.map((run) => [
      run.preset === 'paper' ? run.method : `${run.method} [${run.preset}]`,
      pct(run.forget),
      pct(run.retain),
      pct(run.test),
      signedPoints(100 * (run.test - r.before.test)),
      mia(run.audit),
      String(run.steps),
      run.seconds.toFixed(1),
      run.stopped,
      guardText(run.guard),
    ]),
  ];
  console.log(`\n${r.model} on ${r.dataset}, k = ${r.k}, seed = ${r.seed}, backend ${r.backend}`);
  console.log(table(header, rows));
  console.log(
    `forget = accuracy on the k instances to forget (goal 0 %); retain = accuracy on a fixed random ${r.retainSubsetSize} of the remaining training data; ` +
      `test = held-out test accuracy; MIA = membership-inference attack accuracy on per-sample losses, the k instances vs k test images (50 % = it cannot ` +
      `tell them apart; needs k >= 4); steps = SGD steps until every instance was forgotten (or the epoch cap); seconds include the shared PGD attack ` +
      `for ADV methods; ` +
      `guard = agreement with the original model's predictions, the lower of two parts: ${r.probeSize} other training images, and up to 512 adversarial ` +
      `examples (trips below ${pct(DEFAULT_GUARD.minAgreement, 0)}). [unseen] = the objective "as if never seen" (its steps stop once every instance's ` +
      `loss reached its target, or "settled" once those short of it stop getting closer); ` +
      `[anchored] = misclassify, each instance pushed toward the class the model ranks next while the predictions on other training images are kept (KL to ` +
      `the pre-trained model's).`,
  );
  console.log(preflightText(r));
  if (r.yardstick) console.log(yardstickText(r.yardstick, r.k));
  else console.log(`(no model retrained without these ${r.k} instances is shipped for ${r.model}: the gap to retraining is not measured)`);
}

/** A file `demo` or `experiment --json` wrote: one result, or {cases} / {runs} of them. */
function isExperimentOutput(text: string): boolean {
  try {
    const json = JSON.parse(text) as { runs?: unknown; cases?: unknown; k?: unknown };
    return typeof json === 'object' && json !== null && (Array.isArray(json.runs) || Array.isArray(json.cases));
  } catch {
    return false;
  }
}

/** The second demo case: a small CNN trained without augmentation to ~99 % train accuracy (it memorises). */
const MEMORISING_MODEL = 'fmnist-cnn16';

/**
 * What the demo runs on each case: the paper's negative gradient, alone and (default model) with
 * inverted importance; "as if never seen"; and the anchored misclassify. The adversarial methods
 * run the paper's full PGD attack and, with its exact start and batch order, take tens of minutes on
 * a small CPU (or hit the epoch cap on the memorising CNN); `--methods adv,adv+imp` adds them.
 */
function demoPlan(model: string): Array<{ method: Method; preset: Preset }> {
  const paper: Method[] = model === MEMORISING_MODEL ? ['naive'] : ['naive', 'imp'];
  return [...paper.map((method) => ({ method, preset: 'paper' as Preset })), { method: 'naive', preset: 'unseen' }, { method: 'naive', preset: 'anchored' }];
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  const help = commandHelp(command);
  if (help && asksForHelp(rest)) {
    console.log(help);
    return 0;
  }
  if (command === 'bench') return runBench(rest);
  if (command === 'unlearn') {
    const controller = new AbortController();
    // Ctrl+C and SIGTERM alike: the run stops and nothing is written unless the version was already
    // complete (then the command says so). A second signal ends the process at once; the next run
    // removes what that left.
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      process.once(name, () => {
        if (controller.signal.aborted) process.exit(signalExitCode(name));
        cancelledBy = name;
        console.error(`\nCancelling (${name})… nothing will be written.`);
        controller.abort();
      });
    }
    return runUnlearnCommand(rest, controller.signal);
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      k: { type: 'string' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      methods: { type: 'string' },
      preset: { type: 'string' },
      model: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      'max-epochs': { type: 'string' },
      jobs: { type: 'string', default: 'auto' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (command !== 'demo' && command !== 'experiment') throw new UserInputError(`Unknown command "${command}".\n\n${USAGE}`);

  const backendChoice = parseList(values.backend!, BACKEND_CHOICES, 'backend')[0] as BackendChoice;
  const methods = values.methods ? parseList(values.methods, EXPERIMENT_METHODS, 'method') : [...METHODS];
  const presets = values.preset ? parseList(values.preset, Object.keys(PRESETS) as Preset[], 'preset') : (['paper'] as Preset[]);
  const ks = values.k ? parseInts(values.k, 'k') : command === 'demo' ? [16] : [16, 64, 128];
  const jobs = values.jobs === 'auto' ? ('auto' as const) : Number(values.jobs);
  if (jobs !== 'auto' && !(Number.isInteger(jobs) && jobs >= 1)) throw new UserInputError(`--jobs takes a whole number >= 1 or auto (got "${values.jobs}").`);
  const seeds = values.seeds ? parseInts(values.seeds, 'seeds') : values.seed ? parseInts(values.seed, 'seed') : command === 'demo' ? [0] : [0, 1, 2];
  const maxEpochs = values['max-epochs'] ? parseInts(values['max-epochs'], 'max-epochs')[0] : undefined;
  if (command === 'demo' && (ks.length !== 1 || seeds.length !== 1))
    throw new UserInputError('demo takes one --k and one --seed; use `experiment` for a grid.');

  // The demo's two cases: the default model (augmented, hardly memorises) and one that memorises.
  const modelNames = values.model ? values.model.split(',').map((m) => m.trim()) : command === 'demo' ? [DEFAULT_MODEL, MEMORISING_MODEL] : [DEFAULT_MODEL];
  const models = modelNames.map((name) => embeddedAssets(name));
  // --json is checked before the run: never into the shipped models, data or references, never over a file that is not an earlier result.
  const jsonPath =
    values.json === undefined
      ? undefined
      : await checkOutputFile(
          values.json,
          [
            ...models.map((m) => ({ path: path.dirname(m.modelPath), what: `the embedded model ${m.name}`, folder: true })),
            { path: models[0].dataDir, what: 'the embedded data', folder: true },
            { path: referencesDir(models[0].name).replace(/[/\\][^/\\]+$/, ''), what: 'the retrained references', folder: true },
          ],
          '--json',
          isExperimentOutput,
          `an earlier ${command} result`,
        );
  const backend = await initBackend({ choice: backendChoice, searchPaths: [process.cwd()] });
  console.error(`backend: ${backend.description}`);

  const controller = new AbortController();
  process.once('SIGINT', () => {
    console.error('\nCancelling…');
    controller.abort();
  });
  const status = new StatusLine();
  const results: ExperimentResult[] = [];
  for (const assets of models) {
    const loaded = await loadModel(assets.modelPath);
    const { train, test } = await loadEmbeddedData(assets.dataDir);
    // Left to itself, the demo also runs the objective "as if never seen" beside the paper's.
    const plan = command === 'demo' && !values.methods && !values.preset ? demoPlan(assets.name) : undefined;
    const grid = await runExperimentGrid(
      {
        loaded,
        modelName: assets.name,
        train,
        test,
        methods,
        presets,
        ...(plan ? { plan } : {}),
        backend: backend.name,
        options: maxEpochs ? { maxEpochs } : undefined,
        concurrency: jobs,
        signal: controller.signal,
      },
      ks,
      seeds,
      {
        references: (k, seed) => findReferences(assets.name, k, seed),
        onRun: (k, seed, run, before) => {
          status.clear();
          const name = run.preset === 'paper' ? run.method : `${run.method} [${run.preset}]`;
          console.error(
            `k=${k} seed=${seed} ${name}: forget ${pct(before.forget)} → ${pct(run.forget)}, test ${pct(before.test)} → ${pct(run.test)}, ` +
              `${plural(run.steps, 'step')}, ${run.seconds.toFixed(1)} s, ${run.stopped}`,
          );
        },
        onProgress: (k, seed, method, p, preset) => {
          const where = `k=${k} seed=${seed} ${method}${preset && preset !== 'paper' ? ` [${preset}]` : ''}`;
          if (p.phase === 'attack') status.update(`${where}: PGD ${p.step}/${p.steps} (chunk ${p.chunk}/${p.chunks})`);
          else if (p.phase === 'importance') status.update(`${where}: weight importance`, true);
          else if (p.phase === 'unlearn')
            status.update(`${where}: step ${p.step} (epoch ${p.epoch}) loss ${p.loss.toFixed(3)}, ${p.remembered}/${p.total} still remembered`);
          else status.update(`${where}: evaluating`, true);
        },
        onResult: (result) => {
          status.clear();
          printResult(result);
        },
      },
    );
    results.push(...grid);
    loaded.model.dispose();
  }
  if (values.json) {
    const out = command === 'demo' ? (results.length === 1 ? results[0] : { cases: results }) : { runs: results };
    await writeFileAtomically(jsonPath!, JSON.stringify(out, null, 2));
    console.error(`wrote ${jsonPath}`);
  }
  return 0;
}

const fmt = (x: number | null | undefined, digits = 2): string => (x == null || Number.isNaN(x) ? '–' : x.toFixed(digits));

async function runBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      k: { type: 'string', default: '16' },
      seed: { type: 'string', default: '0' },
      method: { type: 'string', default: 'adv+imp' },
      backend: { type: 'string', default: 'auto' },
      'max-epochs': { type: 'string', default: '1000' },
      workers: { type: 'string', default: 'auto' },
      'pgd-steps': { type: 'string', default: '100' },
      threads: { type: 'string', default: 'auto' },
      'repeat-memory': { type: 'string', default: '0' },
      profile: { type: 'boolean', default: false },
      'no-reference': { type: 'boolean', default: false },
      python: { type: 'string', default: '/usr/bin/python3' },
      model: { type: 'string' },
      json: { type: 'string' },
    },
    strict: true,
  });
  const one = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UserInputError(`--${name} takes a whole number >= ${min} (got "${v}").`);
    return n;
  };
  const workers = values.workers!.split(',').map((w) => (w.trim() === 'auto' ? resolveWorkers('auto') : one('workers', w.trim(), 1)));
  const config: bench.BenchConfig = {
    k: one('k', values.k!, 1),
    seed: one('seed', values.seed!, 0),
    method: parseList(values.method!, METHODS, 'method')[0],
    maxEpochs: one('max-epochs', values['max-epochs']!, 1),
    workers,
    pgdSteps: one('pgd-steps', values['pgd-steps']!, 0),
    reference: !values['no-reference'],
    python: values.python!,
    ...(values.threads === 'auto' ? {} : { threads: one('threads', values.threads!, 1) }),
  };
  const repeatMemory = one('repeat-memory', values['repeat-memory']!, 0);
  const loadAtStart = os.loadavg();
  const backendInfo = await initBackend({ choice: parseList(values.backend!, BACKEND_CHOICES, 'backend')[0] as BackendChoice, searchPaths: [process.cwd()] });
  const assets = embeddedAssets(values.model);
  const loaded = await loadModel(assets.modelPath);
  const { train, test } = await loadEmbeddedData(assets.dataDir);
  const forgetIndices = chooseForgetIndices(train.labels.length, config.k, config.seed);
  const backend = `${backendInfo.name} (${backendInfo.description})`;
  console.error(
    `bench: k = ${config.k}, seed ${config.seed}, ${config.method}, ${config.pgdSteps} PGD steps, max ${config.maxEpochs} epochs, ${workers[0]} PGD ` +
      `worker(s); backend ${backend}`,
  );

  console.error('engine: running the request…');
  const run = await bench.runEngineRequest(loaded, train, test, forgetIndices, config, backend);
  const engine = run.side;
  console.error(`engine: ${engine.steps} steps, ${engine.stopped}, ${engine.seconds.total.toFixed(1)} s`);
  let reference: bench.BenchSide | null = null;
  let referenceError: string | undefined;
  if (config.reference) {
    referenceError = bench.referenceUnavailable(config.python);
    if (!referenceError) {
      console.error('reference: running the same request in PyTorch…');
      try {
        reference = await bench.runReference(loaded, assets.dataDir, forgetIndices, config);
      } catch (e) {
        referenceError = (e as Error).message;
      }
    }
    if (referenceError) console.error(`reference: not run: ${referenceError} Reporting the engine alone.`);
  }
  const scaling: bench.PgdScaling[] = [];
  if (usesAdversarial(config.method)) {
    scaling.push({ workers: workers[0], seconds: engine.seconds.pgd, max_abs_diff: 0 });
    for (const w of workers.slice(1)) {
      console.error(`engine: PGD alone with ${w} worker(s)…`);
      scaling.push(await bench.timePgd(loaded, run.forget, config, w, run.adversarial));
    }
  }
  let profile: bench.StepProfile[] | undefined;
  if (values.profile) {
    console.error('engine: profiling one PGD step, one SGD step and the forget check…');
    profile = await bench.profileEngine(loaded, run.forget, run.adversarial, config);
  }
  let memory: bench.MemoryReport | undefined;
  if (repeatMemory > 0) {
    console.error(`engine: memory check, ${repeatMemory} requests…`);
    memory = await bench.memoryCheck(loaded, train, repeatMemory, workers[0], config.seed);
  }
  const report: bench.BenchReport = {
    engine,
    reference,
    ...(referenceError ? { reference_error: referenceError } : {}),
    ...bench.compareSides(engine, reference),
    k: config.k,
    seed: config.seed,
    method: config.method,
    max_epochs: config.maxEpochs,
    pgd_steps: config.pgdSteps,
    forget_indices: forgetIndices,
    workers: workers[0],
    reference_threads: config.threads ?? os.cpus().length,
    load_average: { start: loadAtStart, end: os.loadavg() },
    cores: os.cpus().length,
    pgd_scaling: scaling,
    ...(profile ? { profile } : {}),
    ...(memory ? { memory } : {}),
    note: bench.BENCH_NOTE,
  };
  printBench(report);
  if (values.json) {
    await fs.writeFile(path.resolve(values.json), JSON.stringify(report, null, 2));
    console.error(`wrote ${path.resolve(values.json)}`);
  }
  return 0;
}

function printBench(r: bench.BenchReport): void {
  const e = r.engine;
  const p = r.reference;
  const phases = ['pgd', 'importance', 'unlearn', 'eval', 'total'] as const;
  const rows: string[][] = phases.map((ph) => [
    `${ph} (s)`,
    fmt(e.seconds[ph]),
    fmt(p?.seconds[ph]),
    fmt(p ? (p.seconds[ph] > 0 ? e.seconds[ph] / p.seconds[ph] : null) : null, 1),
  ]);
  rows.push(
    ['CPU s (total)', fmt(e.cpu_seconds), fmt(p?.cpu_seconds), fmt(r.ratio.cpu_total, 1)],
    ['s / PGD step', fmt(e.per_step.pgd, 3), fmt(p?.per_step.pgd, 3), fmt(r.ratio.pgd_step, 1)],
    ['s / SGD step', fmt(e.per_step.sgd, 3), fmt(p?.per_step.sgd, 3), fmt(r.ratio.sgd_step, 1)],
    ['peak RSS (MiB)', fmt(e.rss_mb, 0), fmt(p?.rss_mb, 0), fmt(p ? e.rss_mb / p.rss_mb : null, 1)],
    ['steps', String(e.steps), p ? String(p.steps) : '–', ''],
    ['stopped', e.stopped, p?.stopped ?? '–', ''],
    ['attack success', e.attack_success == null ? '–' : pct(e.attack_success), p?.attack_success == null ? '–' : pct(p.attack_success), ''],
    ['forget before → after', `${pct(e.before.forget)} → ${pct(e.forget_after)}`, p ? `${pct(p.before.forget)} → ${pct(p.forget_after)}` : '–', ''],
    ['retain before → after', `${pct(e.before.retain)} → ${pct(e.retain_after)}`, p ? `${pct(p.before.retain)} → ${pct(p.retain_after)}` : '–', ''],
    ['test before → after', `${pct(e.before.test)} → ${pct(e.test_after)}`, p ? `${pct(p.before.test)} → ${pct(p.test_after)}` : '–', ''],
  );
  console.log(
    `\nbench: ${r.method}, k = ${r.k}, seed ${r.seed}, ${r.pgd_steps} PGD steps, max ${r.max_epochs} epochs, ${r.workers} PGD worker(s), reference ` +
      `${r.reference_threads} torch thread(s), ${r.cores} cores`,
  );
  console.log(
    `load average (1/5/15 min) at start ${r.load_average.start.map((v) => v.toFixed(2)).join(' ')}, at end ` +
      `${r.load_average.end.map((v) => v.toFixed(2)).join(' ')}`,
  );
  console.log(`engine: ${e.backend}\nreference: ${p ? p.backend : `not run (${r.reference_error ?? 'disabled'})`}`);
  console.log(table(['', 'engine', 'reference', 'engine/ref'], rows));
  if (r.agreement) {
    const a = r.agreement;
    console.log(
      `agreement: test after differs by ${a.test_after_points.toFixed(2)} points, retain by ${a.retain_after_points.toFixed(2)}, forget by ` +
        `${a.forget_after_points.toFixed(2)}; steps ${a.same_steps ? 'equal' : 'differ'}; attack success by ${fmt(a.attack_success_points)} points.`,
    );
  }
  if (r.pgd_scaling.length > 1) {
    console.log('\nPGD phase by worker threads (same plan; max |Δ| of the adversarial images vs the first):');
    console.log(
      table(
        ['workers', 'seconds', 'speed-up', 'max |Δ|'],
        r.pgd_scaling.map((s) => [String(s.workers), fmt(s.seconds), fmt(r.pgd_scaling[0].seconds / s.seconds), s.max_abs_diff.toExponential(1)]),
      ),
    );
  }
  for (const prof of r.profile ?? []) {
    console.log(`\nprofile: ${prof.what}: ${prof.wall_ms.toFixed(1)} ms wall, ${prof.kernel_ms.toFixed(1)} ms in kernels`);
    console.log(
      table(
        ['kernel', 'ms', 'calls', 'share'],
        prof.kernels.slice(0, 10).map((k) => [k.kernel, k.ms.toFixed(1), String(k.calls), pct(k.share)]),
      ),
    );
  }
  if (r.memory) {
    const m = r.memory;
    const pts = m.points;
    console.log(`\nmemory: ${m.requests} requests (${m.setting}); baseline ${m.baseline_tensors} tensors`);
    console.log(
      table(
        ['request', 'tensors before', 'after', 'RSS MiB', 'heap MiB', 'backend MiB', 's'],
        pts.map((q) => [
          String(q.request),
          String(q.tensors_before),
          String(q.tensors_after),
          fmt(q.rss_mb, 0),
          fmt(q.heap_mb, 0),
          fmt(q.wasm_or_backend_mb, 1),
          fmt(q.seconds, 1),
        ]),
      ),
    );
    console.log(
      `tensors ${m.tensors_return_to_baseline ? 'return to the baseline after every request' : 'DO NOT return to the baseline'}; RSS grew ` +
        `${m.rss_growth_first_half_mb.toFixed(0)} MiB over the first half, ${m.rss_growth_second_half_mb.toFixed(0)} MiB over the second ` +
        `(${m.rss_levels_off ? 'levels off' : 'still growing'}).`,
    );
  }
  console.log(`\n${r.note}`);
}

/** The signal that cancelled the run, for the exit code (128 + its number, as shells report). */
let cancelledBy: 'SIGINT' | 'SIGTERM' = 'SIGINT';
const signalExitCode = (name: 'SIGINT' | 'SIGTERM') => (name === 'SIGTERM' ? 143 : 130);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CancelledError) {
      console.error(e.message);
      process.exit(signalExitCode(cancelledBy));
    }
    if (e instanceof UserInputError || e instanceof RangeError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`unlearn-lens: ${(e as Error).message}`);
      process.exit(2);
    }
    // Not the user's doing: one line here, the details in a file to attach to a bug report.
    const details = path.join(os.tmpdir(), `unlearn-lens-error-${process.pid}.log`);
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    let where = details;
    try {
      writeFileSync(details, `unlearn-lens ${process.argv.slice(2).join(' ')}\n${text}\n`);
    } catch {
      where = 'not saved (the temporary folder is not writable); run again with NODE_OPTIONS=--stack-trace-limit=50 to see them';
    }
    console.error(
      `unlearn-lens: internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\nThis is a bug in Unlearn Lens, not in your input. ` +
        `Details: ${where}`,
    );
    process.exit(1);
  },
);
