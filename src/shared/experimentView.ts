/**
 * An experiment as the Run Experiment view shows it: progress over the whole grid (run i of n, the
 * one going, time left) from the engine's progress events, and the result table with each run's
 * test-accuracy drop against the model before it, damaged cells flagged, as CSV or Markdown.
 * Free of `vscode`; unit-tested.
 */
import { DAMAGE_TEST_DROP } from './runView';

/** The grid of runs: every method for every k and seed. */
export interface ExperimentGrid {
  methods: readonly string[];
  ks: readonly number[];
  seeds: readonly number[];
}

/** The progress events the view reads (EngineProgress's 'experiment' phase). */
export interface GridEvent {
  method: string;
  k: number;
  seed: number;
  inner: { phase: string };
}

export interface GridProgress {
  total: number;
  done: number;
  /** "k = 16, seed 0: adv+imp" for the runs going now. */
  running: string[];
  /** Seconds left, from the mean time of the runs done so far; undefined before the first is done. */
  secondsLeft?: number;
  /** "3 of 8 runs done · going: k = 16, seed 0: adv+imp · about 2 min left". */
  text: string;
}

const cell = (e: { method: string; k: number; seed: number }) => `k = ${e.k}, seed ${e.seed}: ${e.method}`;

/** Keeps track of a grid from its progress events. A run is done when its method reports its final evaluation. */
export class GridTracker {
  private readonly done = new Set<string>();
  private readonly running = new Map<string, number>();
  private readonly started: number;

  constructor(
    private readonly grid: ExperimentGrid,
    now = Date.now(),
  ) {
    this.started = now;
  }

  get total(): number {
    return this.grid.methods.length * this.grid.ks.length * this.grid.seeds.length;
  }

  /** Feeds one event; returns the progress after it. */
  update(e: GridEvent, now = Date.now()): GridProgress {
    if (e.method !== 'setup') {
      const key = cell(e);
      if (e.inner.phase === 'evaluate') {
        this.done.add(key);
        this.running.delete(key);
      } else if (!this.done.has(key)) this.running.set(key, now);
    }
    return this.progress(now);
  }

  progress(now = Date.now()): GridProgress {
    const total = this.total;
    const done = Math.min(this.done.size, total);
    const elapsed = (now - this.started) / 1000;
    const secondsLeft = done > 0 ? (elapsed / done) * (total - done) : undefined;
    const running = [...this.running.keys()];
    const left = secondsLeft === undefined ? 'time left known after the first run' : `about ${durationText(secondsLeft)} left`;
    const text = `${done} of ${total} run${total === 1 ? '' : 's'} done${running.length ? ` · going: ${running.join('; ')}` : ''} · ${left}`;
    return { total, done, running, ...(secondsLeft !== undefined ? { secondsLeft } : {}), text };
  }
}

/** "45 s", "3 min", "1 h 5 min". */
export function durationText(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A row of the experiment summary (src/contracts/protocol.ts ExperimentRow). */
export interface ResultRow {
  k: number;
  seed: number;
  method: string;
  forget: number;
  retain: number;
  test: number;
  steps: number;
  seconds: number;
  stopped: string;
  audit?: number;
  /** This row minus the model retrained without the forget set, where one exists. */
  gap?: { forget: number; test: number; membershipAuc: number };
}

export interface ViewRow extends ResultRow {
  /** Test accuracy minus the model's before the run (same k and seed); undefined for the 'before' rows. */
  testDrop?: number;
  /** Test accuracy fell by DAMAGE_TEST_DROP or more. */
  damaged: boolean;
}

/** The rows with their test-accuracy change against the 'before' row of the same k and seed, damage flagged. */
export function experimentRows(rows: readonly ResultRow[]): ViewRow[] {
  const before = new Map(rows.filter((r) => r.method === 'before').map((r) => [`${r.k}/${r.seed}`, r.test]));
  return rows.map((r) => {
    const base = before.get(`${r.k}/${r.seed}`);
    const testDrop = r.method !== 'before' && base !== undefined ? r.test - base : undefined;
    return { ...r, ...(testDrop !== undefined ? { testDrop } : {}), damaged: testDrop !== undefined && testDrop <= -DAMAGE_TEST_DROP + 1e-9 };
  });
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : (100 * x).toFixed(1));
const points = (x: number | undefined) => (x === undefined ? '' : `${x < 0 ? '−' : '+'}${Math.abs(100 * x).toFixed(1)}`);

/** The table as CSV (fractions, as measured) and as Markdown (percentages, damaged rows marked); gap columns when a retrained reference exists. */
export function experimentExports(title: string, rows: readonly ViewRow[]): { csv: string; markdown: string } {
  const gaps = rows.some((r) => r.gap);
  const csv = [
    `k,seed,method,forget,retain,test,test_change,damaged,mia,steps,seconds,stopped${gaps ? ',gap_forget,gap_test,gap_membership_auc' : ''}`,
    ...rows.map((r) =>
      [
        r.k,
        r.seed,
        r.method,
        r.forget,
        r.retain,
        r.test,
        r.testDrop ?? '',
        r.damaged,
        r.audit ?? '',
        r.steps,
        r.seconds.toFixed(3),
        r.stopped,
        ...(gaps ? [r.gap?.forget ?? '', r.gap?.test ?? '', r.gap?.membershipAuc ?? ''] : []),
      ].join(','),
    ),
  ].join('\n');
  const markdown = [
    `# ${title}`,
    '',
    `Test change: test accuracy after the run minus before it, in points; ⚠ marks a drop of ${(100 * DAMAGE_TEST_DROP).toFixed(0)} points or more ` +
      `(damage).${gaps ? ' Gap: this row minus the model retrained without the instances (forget and test in points, membership AUC in hundredths); near 0 is what retraining would give.' : ''}`,
    '',
    `| k | seed | method | forget % | retain % | test % | test change | MIA % | steps | seconds | stopped |${gaps ? ' gap forget | gap test | gap AUC |' : ''}`,
    `|---|---|---|---|---|---|---|---|---|---|---|${gaps ? '---|---|---|' : ''}`,
    ...rows.map(
      (r) =>
        `| ${r.k} | ${r.seed} | ${r.method} | ${pct(r.forget)} | ${pct(r.retain)} | ${pct(r.test)} | ${r.damaged ? '⚠ ' : ''}${points(r.testDrop)} | ` +
        `${r.audit === undefined ? '–' : pct(r.audit)} | ${r.steps} | ${r.seconds.toFixed(1)} | ${r.stopped} |` +
        (gaps ? ` ${r.gap ? points(r.gap.forget) : '–'} | ${r.gap ? points(r.gap.test) : '–'} | ${r.gap ? points(r.gap.membershipAuc) : '–'} |` : ''),
    ),
  ].join('\n');
  return { csv: `${csv}\n`, markdown: `${markdown}\n` };
}
