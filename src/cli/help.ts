/**
 * The command line's help: one overview (`unlearn-lens --help`) and one text per subcommand
 * (`unlearn-lens demo --help`, …). `unlearn` keeps its own text beside its options (UNLEARN_USAGE in
 * unlearn.ts).
 */
import { BACKEND_CHOICES, EXPERIMENT_METHODS, METHODS, PRESETS } from '../contracts/options';
import { DEFAULT_MODEL } from '../engine/data/assets';

export const USAGE = `Usage: unlearn-lens <command> [options]

Commands:
  demo         Forget k random training instances of the embedded Fashion-MNIST model with every
               method, and print what each kept.
  unlearn      Forget the given images (or manifest lines) from a model.json and save the result as a
               new version beside it.
  experiment   The demo's protocol over a grid of k values and seeds.
  bench        One request by the engine and by the PyTorch reference back to back: seconds per
               phase, peak memory, accuracies after, ratios.

unlearn-lens <command> --help lists the options of a command.
`;

const embeddedOptions = (model: string) => `  --model NAME     embedded model (${model})
  --backend B      ${BACKEND_CHOICES.join(' | ')} (default auto: tfjs-node-gpu, a GPU through
                   WebGPU, tfjs-node, else wasm; webgpu forces WebGPU)
  --max-epochs N   cap on unlearning epochs (default 1000)`;
const EMBEDDED_OPTIONS = embeddedOptions(`default ${DEFAULT_MODEL}`);

const gridOptions = (methods: string, model: string) => `  --methods LIST   comma list of ${EXPERIMENT_METHODS.join(', ')}
                   (${methods}; oracle also trains on the remaining training data, which
                   the paper's setting does not have)
${embeddedOptions(model)}
  --jobs N|auto    methods run at once, each in a worker thread from the same pre-trained model
                   (same results as one after another; default auto: one per core)
  --preset LIST    option bundles to run, comma list of ${Object.keys(PRESETS).join(', ')} (default paper);
                   \`paper\` is the method exactly as published
  --json FILE      also write the results as JSON
  -h, --help       this text`;

export const DEMO_HELP = `Usage: unlearn-lens demo [options]

Forgets k random training instances of an embedded Fashion-MNIST model, each method from the same
pre-trained model, and prints what each kept: accuracy on the forgotten instances, the remaining
training data and the test data, the membership audit, steps, seconds and the collateral-damage
guard; then the gap of each result to a model retrained from scratch without the instances, where
one is shipped. Without --model it runs both embedded cases (the default model, which generalises,
and fmnist-cnn16, which memorises); without --methods and --preset it runs the paper's negative
gradient (and IMP on the default model), "as if never seen" and the anchored misclassify. The
paper's adversarial methods run a full PGD attack first and take tens of minutes on a small CPU:
add them with --methods naive,adv,imp,adv+imp.

  --k N            instances to forget (default 16)
  --seed N         seed for the selection, targets and starts (default 0)
${gridOptions("default: the plan above, or the paper's four with --preset", `default: both, ${DEFAULT_MODEL} and fmnist-cnn16`)}
`;

export const EXPERIMENT_HELP = `Usage: unlearn-lens experiment [options]

The demo's protocol over a grid: every k × every seed × every method, one table per (k, seed).

  --k LIST         comma list of instance counts (default 16,64,128)
  --seeds LIST     comma list of seeds (default 0,1,2)
${gridOptions("default: the paper's four", `default ${DEFAULT_MODEL}`)}
`;

export const BENCH_HELP = `Usage: unlearn-lens bench [options]

One unlearning request on the embedded model by the engine and by the PyTorch reference
(tools/reference/unlearn.py) back to back: seconds per phase, peak memory, accuracies after,
and the ratios. The reference needs a Python with torch; without it the engine is reported alone.

  --k N                instances to forget (default 16)
  --seed N             seed for the selection, targets and starts (default 0)
  --method M           ${METHODS.join(' | ')} (default adv+imp)
${EMBEDDED_OPTIONS}
  --workers LIST       PGD worker threads; the request runs with the first, the others time PGD alone
                       (default auto: one per core); with 2 or more, the SGD steps also hand half of
                       each large convolution to a second thread
  --pgd-steps N        PGD steps (default 100; lower only for quick checks)
  --threads N          the reference's torch threads (default auto: one per core); with --workers N
                       the same for both sides, for a scaling table
  --repeat-memory N    then N small requests in this process: tensors and memory after each
                       (default 0: skip)
  --profile            kernel profile of one PGD step, one SGD step and the forget check
  --no-reference       the engine alone
  --python PATH        interpreter with torch (default /usr/bin/python3)
  --json FILE          also write the results as JSON
  -h, --help           this text
`;

/** The help of a subcommand that has its text here; undefined for `unlearn` (its own) and unknown commands. */
export function commandHelp(command: string): string | undefined {
  return ({ demo: DEMO_HELP, experiment: EXPERIMENT_HELP, bench: BENCH_HELP } as Record<string, string>)[command];
}

/** Whether the arguments ask for help (before any other check, so that `bench --help` is not an error). */
export const asksForHelp = (args: readonly string[]): boolean => args.includes('--help') || args.includes('-h');
