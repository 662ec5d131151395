/**
 * `unlearn-lens`: the engine, headless.
 *
 *   unlearn-lens demo [--k 16] [--seed 0] [--methods naive,adv,imp,adv+imp] [--backend B] [--json FILE]
 *   unlearn-lens experiment --k 16,64 --seeds 0,1,2 [--methods ...] [--model M] [--json FILE]
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../engine/backend';
import { embeddedDefault, loadEmbeddedData, DEFAULT_MODEL } from '../engine/assets';
import { loadModel } from '../engine/modelIo';
import { runExperiment, type ExperimentResult } from '../engine/experiment';
import { METHODS } from '../engine/options';
import { CancelledError, UserInputError } from '../engine/errors';
import { pct, StatusLine, table } from './format';

const USAGE = `Usage: unlearn-lens <command> [options]

Commands:
  demo         Forget k random training instances of the embedded Fashion-MNIST model with every
               method, and print what each kept.
  experiment   The demo's protocol over a grid of k values and seeds.

Options:
  --k N            instances to forget (demo: 16; experiment: a comma list)
  --seed N         seed for the selection, targets and starts (demo: 0)
  --seeds LIST     experiment: comma list of seeds (default 0,1,2)
  --methods LIST   comma list of ${METHODS.join(', ')} (default: all)
  --model NAME     embedded model (default ${DEFAULT_MODEL})
  --backend B      ${BACKEND_CHOICES.join(' | ')} (default auto: tfjs-node(-gpu) if installed, else wasm)
  --max-epochs N   cap on unlearning epochs (default 1000)
  --json FILE      also write the results as JSON
  -h, --help       this text
`;

function parseList<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new UserInputError(`Unknown ${what} "${item}"; choose from ${allowed.join(', ')}.`);
  return items as T[];
}

function parseInts(value: string, what: string): number[] {
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0) throw new UserInputError(`--${what} takes whole numbers (got "${s}").`);
    return n;
  });
}

function printResult(r: ExperimentResult): void {
  const header = ['method', 'forget', 'retain', 'test', 'Δ test', 'steps', 'seconds', 'stopped'];
  const rows = [
    ['before', pct(r.before.forget), pct(r.before.retain), pct(r.before.test), '', '', '', ''],
    ...r.runs.map((run) => [
      run.method,
      pct(run.forget),
      pct(run.retain),
      pct(run.test),
      `${(100 * (run.test - r.before.test)).toFixed(1)}`,
      String(run.steps),
      run.seconds.toFixed(1),
      run.stopped,
    ]),
  ];
  console.log(`\n${r.model} on ${r.dataset}, k = ${r.k}, seed = ${r.seed}, backend ${r.backend}`);
  console.log(table(header, rows));
  console.log(
    `forget = accuracy on the k instances to forget (goal 0 %); retain = accuracy on a fixed random ${r.retainSubsetSize} of the remaining training data; ` +
      `test = held-out test accuracy; steps = SGD steps until every instance was forgotten (or the epoch cap); seconds include the shared PGD attack for ADV methods.`,
  );
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      k: { type: 'string' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      methods: { type: 'string' },
      model: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      'max-epochs': { type: 'string' },
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
  const methods = values.methods ? parseList(values.methods, METHODS, 'method') : [...METHODS];
  const ks = values.k ? parseInts(values.k, 'k') : command === 'demo' ? [16] : [16, 64, 128];
  const seeds = values.seeds ? parseInts(values.seeds, 'seeds') : values.seed ? parseInts(values.seed, 'seed') : command === 'demo' ? [0] : [0, 1, 2];
  const maxEpochs = values['max-epochs'] ? parseInts(values['max-epochs'], 'max-epochs')[0] : undefined;
  if (command === 'demo' && (ks.length !== 1 || seeds.length !== 1)) throw new UserInputError('demo takes one --k and one --seed; use `experiment` for a grid.');

  const backend = await initBackend({ choice: backendChoice, searchPaths: [process.cwd()] });
  console.error(`backend: ${backend.description}`);
  const assets = embeddedDefault(values.model ?? DEFAULT_MODEL);
  const loaded = await loadModel(assets.modelPath);
  const { train, test } = await loadEmbeddedData(assets.dataDir);

  const controller = new AbortController();
  process.once('SIGINT', () => {
    console.error('\nCancelling…');
    controller.abort();
  });
  const status = new StatusLine();
  const results: ExperimentResult[] = [];
  for (const k of ks) {
    for (const seed of seeds) {
      const result = await runExperiment({
        loaded,
        modelName: assets.name,
        train,
        test,
        k,
        seed,
        methods,
        backend: backend.name,
        options: maxEpochs ? { maxEpochs } : undefined,
        signal: controller.signal,
        onProgress: (method, p) => {
          const where = `k=${k} seed=${seed} ${method}`;
          if (p.phase === 'attack') status.update(`${where}: PGD ${p.step}/${p.steps} (chunk ${p.chunk}/${p.chunks})`);
          else if (p.phase === 'importance') status.update(`${where}: weight importance`, true);
          else if (p.phase === 'unlearn') status.update(`${where}: step ${p.step} (epoch ${p.epoch}) loss ${p.loss.toFixed(3)}, ${p.remembered}/${p.total} still remembered`);
          else status.update(`${where}: evaluating`, true);
        },
      });
      status.clear();
      printResult(result);
      results.push(result);
    }
  }
  if (values.json) {
    const out = command === 'demo' ? results[0] : { runs: results };
    await fs.writeFile(path.resolve(values.json), JSON.stringify(out, null, 2));
    console.error(`wrote ${path.resolve(values.json)}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CancelledError) {
      console.error(e.message);
      process.exit(130);
    }
    if (e instanceof UserInputError || e instanceof RangeError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`unlearn-lens: ${(e as Error).message}`);
      process.exit(2);
    }
    console.error(e);
    process.exit(1);
  },
);
