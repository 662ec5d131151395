/**
 * Every option of an unlearning run, typed and named, with the paper's defaults in one place.
 * (The reference passed positional lists that drifted out of sync; here nothing is positional.)
 */
export type Method = 'naive' | 'adv' | 'imp' | 'adv+imp';
export const METHODS: readonly Method[] = ['naive', 'adv', 'imp', 'adv+imp'];

/** What the forget term asks of each instance. */
export type ForgetObjective =
  /** Misclassify: maximise CE on the true label (the paper). */
  | { kind: 'misclassify' }
  /** Relabel: minimise CE toward a new label per instance. */
  | { kind: 'relabel'; labels: number[] };

export interface AttackOptions {
  /** L2 radius of the perturbation, in [0,1] pixel space. */
  epsilon: number;
  /** Step length of each normalised-gradient step. */
  stepSize: number;
  steps: number;
  /** Adversarial examples per forget instance; 'auto' = 20, or 200 for 100+ classes. */
  examplesPerInstance: number | 'auto';
  /** Examples attacked together in one forward/backward pass (memory vs speed; no effect on results). */
  chunkSize: number;
  /** Worker threads that split the attack, each with its own model copy (no effect on results). */
  workers: number;
}

export interface UnlearnOptions {
  method: Method;
  objective: ForgetObjective;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  /** Forget instances per step (the reference's unlearn loader). */
  forgetBatchSize: number;
  /** Adversarial examples per step. */
  adversarialBatchSize: number;
  /** Strength of the inverted-importance penalty. */
  lambda: number;
  /** Cap on epochs; an epoch is one pass over the adversarial set (ADV) or the forget set. */
  maxEpochs: number;
  seed: number;
  attack: AttackOptions;
}

export const DEFAULT_ATTACK: AttackOptions = {
  epsilon: 4.0,
  stepSize: 0.1,
  steps: 100,
  examplesPerInstance: 'auto',
  chunkSize: 512,
  workers: 1,
};

export const DEFAULT_OPTIONS: UnlearnOptions = {
  method: 'adv+imp',
  objective: { kind: 'misclassify' },
  learningRate: 1e-3,
  momentum: 0.9,
  weightDecay: 1e-4,
  forgetBatchSize: 32,
  adversarialBatchSize: 256,
  lambda: 1,
  maxEpochs: 1000,
  seed: 0,
  attack: DEFAULT_ATTACK,
};

export type UnlearnOptionsInput = Partial<Omit<UnlearnOptions, 'attack'>> & { attack?: Partial<AttackOptions> };

export function resolveOptions(input: UnlearnOptionsInput = {}): UnlearnOptions {
  const options: UnlearnOptions = { ...DEFAULT_OPTIONS, ...input, attack: { ...DEFAULT_ATTACK, ...(input.attack ?? {}) } };
  const positive: Array<[string, number]> = [
    ['learningRate', options.learningRate],
    ['forgetBatchSize', options.forgetBatchSize],
    ['adversarialBatchSize', options.adversarialBatchSize],
    ['maxEpochs', options.maxEpochs],
    ['attack.epsilon', options.attack.epsilon],
    ['attack.stepSize', options.attack.stepSize],
    ['attack.chunkSize', options.attack.chunkSize],
  ];
  for (const [name, value] of positive) {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`Option ${name} must be a positive number (got ${value}).`);
  }
  if (!Number.isInteger(options.attack.workers) || options.attack.workers < 1) throw new RangeError('Option attack.workers must be a whole number >= 1.');
  if (!Number.isInteger(options.attack.steps) || options.attack.steps < 0) throw new RangeError(`Option attack.steps must be a whole number >= 0.`);
  if (options.lambda < 0 || options.momentum < 0 || options.weightDecay < 0) throw new RangeError('Options lambda, momentum and weightDecay must be >= 0.');
  return options;
}

export function examplesPerInstance(attack: AttackOptions, numClasses: number): number {
  return attack.examplesPerInstance === 'auto' ? (numClasses >= 100 ? 200 : 20) : attack.examplesPerInstance;
}

export const usesAdversarial = (m: Method): boolean => m === 'adv' || m === 'adv+imp';
export const usesImportance = (m: Method): boolean => m === 'imp' || m === 'adv+imp';
