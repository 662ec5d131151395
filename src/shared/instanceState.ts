/**
 * What the active model has done with each instance a run selected, read off the chain of run
 * records that made the active version (oldest first). Every view (gallery, manifest diagnostics
 * and hovers, CodeLens, tree, report) asks this one function, so none of them can tell a stale
 * story: an instance an early run erased and a later run's record says came back is "came back",
 * not "forgotten".
 *
 * The rules, per instance (by its image file):
 *   - the last run in the chain that selected it sets its state: forgotten (no longer predicted as
 *     its label), remembered (still predicted as its label: the run hit its cap or was stopped), or
 *     already misclassified (wrong before that run: there was nothing to forget);
 *   - each later run's record checked the instances earlier runs erased: `earlier.cameBack` (wrong
 *     before it, its label again after) makes it "came back", `earlier.forgottenAgain` (its label
 *     before, wrong after) makes a came-back instance forgotten again;
 *   - optionally, the active model's own predictions (`now`) have the last word: an instance the
 *     chain calls forgotten that the active model predicts as its label has come back.
 *
 * Pure: no `vscode`, no file system, no tensors. Unit-tested in test/shared/instanceState.test.ts.
 */
import * as path from 'node:path';

export type InstanceStatus = 'forgotten' | 'came-back' | 'remembered' | 'already-misclassified';

/** The parts of a run record (src/contracts/runRecord.ts, paths absolute as in memory) read here. */
export interface ChainRecord {
  id: string;
  forget: {
    ids: readonly string[];
    labels: readonly number[];
    predictedBefore: readonly number[];
    predictedAfter: readonly number[];
    classNames?: readonly string[];
  };
  options: { method: string };
  stopped?: string;
  earlier?: { cameBack: readonly string[]; forgottenAgain?: readonly string[] };
}

/** One run's effect on one instance, as its record says (the hover's table). */
export interface InstanceEvent {
  run: string;
  method: string;
  /** `selected`: the run erased it; `came-back` / `forgotten-again`: the run checked it as an earlier erasure. */
  kind: 'selected' | 'came-back' | 'forgotten-again';
  label: number;
  /** Predictions before and after the run (for `came-back`: the label after; for `forgotten-again`: unknown, -1). */
  before: number;
  after: number;
}

export interface InstanceState {
  status: InstanceStatus;
  label: number;
  /** The last run that selected it. */
  selectedIn: string;
  /** Predicted before and after that run. */
  before: number;
  after: number;
  /** The run whose record says it came back (status came-back), when a run says so. */
  cameBackIn?: string;
  /** The run whose record says it was forgotten again after coming back. */
  forgottenAgainIn?: string;
  /** The active model's prediction, when the caller gave it. */
  now?: number;
  /** Class names of the run that selected it (index → name), when the record has them. */
  classNames?: readonly string[];
  events: InstanceEvent[];
  /** One line that says all of the above ("forgotten in run R: was Shirt, now Coat"). */
  text: string;
}

/** The newest `max` events (in the order they happened) and how many earlier ones were left out. */
export function recentEvents(events: readonly InstanceEvent[], max: number): { shown: InstanceEvent[]; earlier: number } {
  const earlier = Math.max(0, events.length - Math.max(1, max));
  return { shown: events.slice(earlier), earlier };
}

/** A file as the map's key: absolute and normalised (the records' paths are absolute in memory). */
export const instanceKey = (file: string): string => path.resolve(file);

export const classNameOf = (classNames: readonly string[] | undefined, index: number): string => (index < 0 ? '?' : (classNames?.[index] ?? String(index)));

/**
 * The state of every instance a run in `chain` (the active version's records, oldest first)
 * selected, by instanceKey. `now`: the active model's predictions by instanceKey (optional; null: unknown).
 */
export function instanceStates(chain: readonly ChainRecord[], now?: ReadonlyMap<string, number | null>): Map<string, InstanceState> {
  const states = new Map<string, InstanceState>();
  for (const record of chain) {
    // Earlier erasures this run checked: what its record says became of them.
    const back = new Set((record.earlier?.cameBack ?? []).map(instanceKey));
    const again = new Set((record.earlier?.forgottenAgain ?? []).map(instanceKey));
    for (const [key, s] of states) {
      if (back.has(key) && s.status !== 'came-back') {
        s.status = 'came-back';
        s.cameBackIn = record.id;
        s.forgottenAgainIn = undefined;
        s.events.push({ run: record.id, method: record.options.method, kind: 'came-back', label: s.label, before: -1, after: s.label });
      } else if (again.has(key) && s.status === 'came-back') {
        s.status = 'forgotten';
        s.forgottenAgainIn = record.id;
        s.events.push({ run: record.id, method: record.options.method, kind: 'forgotten-again', label: s.label, before: s.label, after: -1 });
      }
    }
    const f = record.forget;
    f.ids.forEach((id, i) => {
      const key = instanceKey(id);
      const label = f.labels[i];
      const before = f.predictedBefore[i];
      const after = f.predictedAfter[i];
      const status: InstanceStatus = after === label ? 'remembered' : before !== label ? 'already-misclassified' : 'forgotten';
      const events = states.get(key)?.events ?? [];
      events.push({ run: record.id, method: record.options.method, kind: 'selected', label, before, after });
      states.set(key, { status, label, selectedIn: record.id, before, after, ...(f.classNames ? { classNames: f.classNames } : {}), events, text: '' });
    });
  }
  const last = chain[chain.length - 1]?.id;
  for (const [key, s] of states) {
    const p = now?.get(key);
    if (p !== undefined && p !== null) {
      s.now = p;
      // The active model has the last word on what it predicts.
      if (p === s.label && (s.status === 'forgotten' || s.status === 'already-misclassified')) {
        s.status = 'came-back';
        s.cameBackIn = undefined;
      } else if (p !== s.label && s.status === 'came-back') {
        s.status = 'forgotten';
      }
    }
    s.text = stateText(s, last);
  }
  return states;
}

/** The one-line wording of a state; `activeRun`: the id of the active version's run. */
export function stateText(s: InstanceState, activeRun?: string): string {
  const name = (i: number) => classNameOf(s.classNames, i);
  const nowText = (fallback: number, fromRecord: boolean) =>
    s.now !== undefined ? `now ${name(s.now)}` : fromRecord ? `now ${name(fallback)}` : `${name(fallback)} after it`;
  const selectedIsActive = s.selectedIn === activeRun;
  switch (s.status) {
    case 'forgotten': {
      const history = s.forgottenAgainIn ? `, came back, then forgotten again in run ${s.forgottenAgainIn}` : '';
      const now = s.forgottenAgainIn ? (s.now !== undefined ? `now ${name(s.now)}` : 'not its label') : nowText(s.after, selectedIsActive);
      return `forgotten in run ${s.selectedIn}${history}: was ${name(s.before)}, ${now}`;
    }
    case 'came-back':
      return s.cameBackIn
        ? `came back in run ${s.cameBackIn}: predicted as its label ${name(s.label)} again (forgotten in run ${s.selectedIn})`
        : `came back: the active model predicts its label ${name(s.label)} again (forgotten in run ${s.selectedIn})`;
    case 'remembered':
      return (
        `still remembered after run ${s.selectedIn}: predicted ${name(s.after)} (its ` +
        `label)${s.now !== undefined && s.now !== s.after ? `, now ${name(s.now)}` : ''}`
      );
    case 'already-misclassified':
      return (
        `already misclassified before run ${s.selectedIn}: predicted ${name(s.before)}, labelled ${name(s.label)} (nothing to forget); ` +
        `${nowText(s.after, selectedIsActive)}`
      );
  }
}

/** Counts by status over the chain: what the CodeLens and the tree say in one line. */
export interface ChainSummary {
  runs: number;
  /** Instances selected by any run of the chain. */
  instances: number;
  forgotten: number;
  cameBack: number;
  remembered: number;
  alreadyMisclassified: number;
}

export function chainSummary(chain: readonly ChainRecord[], states: ReadonlyMap<string, InstanceState> = instanceStates(chain)): ChainSummary {
  const count = (status: InstanceStatus) => [...states.values()].filter((s) => s.status === status).length;
  return {
    runs: chain.length,
    instances: states.size,
    forgotten: count('forgotten'),
    cameBack: count('came-back'),
    remembered: count('remembered'),
    alreadyMisclassified: count('already-misclassified'),
  };
}

/** "2 runs: 5 of 7 instances forgotten, 2 came back" (empty chain: "no erasures"). */
export function chainSummaryText(s: ChainSummary): string {
  if (s.runs === 0) return 'no erasures';
  const runs = `${s.runs} run${s.runs === 1 ? '' : 's'}`;
  const parts = [`${s.forgotten} of ${s.instances} instance${s.instances === 1 ? '' : 's'} forgotten`];
  if (s.cameBack) parts.push(`${s.cameBack} came back`);
  if (s.remembered) parts.push(`${s.remembered} still remembered`);
  if (s.alreadyMisclassified) parts.push(`${s.alreadyMisclassified} already misclassified`);
  return `${runs}: ${parts.join(', ')}`;
}
