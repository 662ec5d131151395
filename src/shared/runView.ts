/**
 * How a run reads at a glance, wherever it is shown (the notification after a run, the Models and
 * Runs view): whether it damaged the model, when it ran, and what it forgot. Free of `vscode`, so
 * that every wording is unit-tested.
 */
import { pct, pctOr } from './percent';
import type { StopReason } from '../contracts/runRecord';

/** A test-accuracy drop of this much or more (a fraction: 0.05 = 5 points) counts as damage. */
export const DAMAGE_TEST_DROP = 0.05;

/** "1 step", "2 steps". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

const points = (delta: number): string => `${delta < 0 ? '−' : '+'}${Math.abs(100 * delta).toFixed(1)} points`;

/** The parts of a run record (src/engine/jobs/request.ts) these views read; any version of the record has them. */
interface RunFigures {
  guard: { minAgreement: number; tripped?: { step: number; agreement: number; action: 'report' | 'stop' } };
  before: { forget: number; test?: number };
  after: { forget: number; test?: number };
}

export interface Damage {
  /** Test accuracy after minus before (a fraction), when the run measured it. */
  testDelta?: number;
  /** Each reason in words; empty when the run did no damage by this rule. */
  reasons: string[];
}

/**
 * Did the run damage the model? Yes when the collateral-damage guard tripped and the run carried on
 * (it was not stopped and rolled back to a check that passed), or when held-out test accuracy fell
 * by DAMAGE_TEST_DROP or more.
 */
export function damageOf(record: RunFigures): Damage {
  const reasons: string[] = [];
  const { test: before } = record.before;
  const { test: after } = record.after;
  const testDelta = before !== undefined && after !== undefined ? after - before : undefined;
  if (testDelta !== undefined && testDelta <= -DAMAGE_TEST_DROP + 1e-9)
    reasons.push(`test accuracy fell from ${pct(before!)} to ${pct(after!)} (${points(testDelta)})`);
  const tripped = record.guard.tripped;
  if (tripped && tripped.action === 'report') {
    reasons.push(
      `the collateral-damage guard tripped at step ${tripped.step} (agreement with the original model ${pct(tripped.agreement)}, lowest ` +
        `${pct(record.guard.minAgreement)}) and the run carried on`,
    );
  }
  return { ...(testDelta !== undefined ? { testDelta } : {}), reasons };
}

/** The first sentence of a damaged run's notification: what was lost, before anything else. */
export function damageHeadline(damage: Damage): string {
  if (!damage.reasons.length) return '';
  const [first, ...rest] = damage.reasons;
  return `Unlearn: the model was damaged: ${first}${rest.length ? `; ${rest.join('; ')}` : ''}.`;
}

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then the date. */
export function relativeTime(iso: string, now: Date = new Date()): string {
  const then = new Date(iso);
  const seconds = (now.getTime() - then.getTime()) / 1000;
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 60) return 'just now';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days === 1) return 'yesterday';
  if (days < 7) return `${days} days ago`;
  return then.toISOString().slice(0, 10);
}

/** An instance as the user knows it: its class folder and file name ("Sandal/017.png"). */
export function instanceName(id: string): string {
  const parts = id.split(/[\\/]/).filter(Boolean);
  return parts.slice(-2).join('/');
}

/** The first `max` instance names, and how many more there are. */
export function forgottenNames(ids: readonly string[], max = 2): string {
  if (ids.length === 0) return 'nothing';
  const shown = ids.slice(0, max).map(instanceName).join(', ');
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}

/** Why a run ended, in the runs view's tooltip: one text per reason (a new reason cannot be left out). */
const STOPPED: Record<StopReason, string> = {
  forgotten: 'every instance forgotten',
  'max-epochs': 'stopped at the epoch cap',
  guard: 'stopped by the guard',
  diverged: 'diverged',
  settled: 'settled short of some targets',
};

type RunTextInput = RunFigures & {
  id: string;
  createdAt: string;
  steps: number;
  stopped: StopReason;
  backend: string;
  options: { method: string };
  forget: { ids: readonly string[] };
  seconds: { total: number };
};

/** A run as one row of the Models and Runs view: label, description and the tooltip's lines. */
export function runRow(
  record: RunTextInput,
  active: boolean,
  now: Date = new Date(),
): { label: string; description: string; tooltip: string[]; damaged: boolean } {
  const damage = damageOf(record);
  const k = record.forget.ids.length;
  const label = `${record.options.method}, k = ${k} · ${relativeTime(record.createdAt, now)}`;
  const delta = damage.testDelta === undefined ? '' : ` (${points(damage.testDelta)})`;
  const description =
    `${active ? 'active · ' : ''}${damage.reasons.length ? 'damaged · ' : ''}${forgottenNames(record.forget.ids)} · test ` +
    `${pctOr(record.before.test)} → ${pctOr(record.after.test)}`;
  const names = record.forget.ids.slice(0, 10).map(instanceName);
  const tooltip = [
    `${record.options.method}, k = ${k}${active ? ' (the active version)' : ''}`,
    `${new Date(record.createdAt).toLocaleString()} · version ${record.id}`,
    `Forgot: ${names.join(', ')}${k > names.length ? ` and ${k - names.length} more` : ''}`,
    `Forget accuracy (goal 0 %): ${pctOr(record.before.forget)} → ${pctOr(record.after.forget)}`,
    `Test accuracy (held-out data): ${pctOr(record.before.test)} → ${pctOr(record.after.test)}${delta}`,
    `${plural(record.steps, 'step')}, ` + `${STOPPED[record.stopped]}; ${record.seconds.total.toFixed(1)} s on ${record.backend}`,
    ...damage.reasons.map((r) => `Damage: ${r}.`),
    'Click to open the report.',
  ];
  return { label, description, tooltip, damaged: damage.reasons.length > 0 };
}
