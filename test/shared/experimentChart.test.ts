import { test } from 'node:test';
import assert from 'node:assert/strict';
import { experimentChartLayout, experimentChartSvg, type ChartRow } from '../../src/shared/experimentChart';
import { experimentRows, type ResultRow } from '../../src/shared/experimentView';
import { DAMAGE_TEST_DROP } from '../../src/shared/runView';

const row = (method: string, k: number, seed: number, test: number, gapTest?: number): ResultRow => ({
  k,
  seed,
  method,
  forget: method === 'before' ? 1 : 0,
  retain: 0.9,
  test,
  steps: 3,
  seconds: 1.5,
  stopped: 'forgotten',
  ...(gapTest !== undefined ? { gap: { forget: 0, test: gapTest, membershipAuc: 0 } } : {}),
});

/** Two methods × k = 1, 16, 128 × seeds 0 and 1; naive drops far more at large k. */
function grid(gaps = false): ChartRow[] {
  const rows: ResultRow[] = [];
  for (const k of [16, 1, 128])
    for (const seed of [0, 1]) {
      rows.push(row('before', k, seed, 0.9, gaps ? 0.01 : undefined));
      rows.push(row('naive', k, seed, 0.9 - k / 1000 - seed * 0.01, gaps ? -k / 1000 : undefined));
      rows.push(row('adv+imp', k, seed, 0.9 - k / 10000, gaps ? 0 : undefined));
    }
  return experimentRows(rows);
}

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

test('change chart: one series per method (before left out), the k values in order, mean over seeds with its min and max', () => {
  const l = experimentChartLayout(grid(), 'drop')!;
  assert.deepEqual(
    l.series.map((s) => s.method),
    ['naive', 'adv+imp'],
  );
  assert.deepEqual(
    l.ks.map((t) => t.k),
    [1, 16, 128],
  );
  assert.ok(l.ks[0].x < l.ks[1].x && l.ks[1].x < l.ks[2].x, 'k grows to the right');
  const naive128 = l.series[0].points.find((p) => p.k === 128)!;
  assert.deepEqual(naive128.seeds, [0, 1]);
  assert.ok(Math.abs(naive128.mean - -13.3) < 1e-9, String(naive128.mean));
  assert.ok(Math.abs(naive128.min - -13.8) < 1e-9 && Math.abs(naive128.max - -12.8) < 1e-9);
  assert.ok(naive128.yMin > naive128.y && naive128.y > naive128.yMax, 'the lowest seed is drawn lowest');
  assert.equal(naive128.damaged, 2);

  const svg = experimentChartSvg(grid(), 'drop');
  assert.match(svg, /^<svg class="experiment-chart" data-chart="drop"/);
  assert.equal(count(svg, /<g class="series /g), 2, 'one series per method');
  assert.equal(count(svg, /<polyline /g), 2, 'a line per method through its k values');
  assert.equal(count(svg, /<line class="range"/g), 6, 'a min–max bar at every point (two seeds)');
  assert.match(svg, />k \(instances forgotten\)</);
  assert.match(svg, />test accuracy change, points</);
  assert.match(
    svg,
    /<title>naive, k = 128: test accuracy change −13\.30 points \(mean of 2 seeds 0, 1; min −13\.80 points, max −12\.80 points\); damage in 2 of 2 seeds<\/title>/,
  );
  assert.doesNotMatch(svg, /style=/, 'no inline style under the panel CSP');
});

test('a larger drop is drawn lower; 0 is a dashed line', () => {
  const l = experimentChartLayout(grid(), 'drop')!;
  const [naive, adv] = l.series;
  for (let i = 0; i < 3; i++) {
    assert.ok(naive.points[i].mean < adv.points[i].mean, 'naive drops more');
    assert.ok(naive.points[i].y > adv.points[i].y, `k = ${naive.points[i].k}: the larger drop is lower`);
  }
  assert.ok(naive.points[2].y > naive.points[0].y, 'naive at k = 128 below naive at k = 1');
  assert.ok(l.zeroY < naive.points[2].y && l.zeroY >= l.plot.y && l.zeroY <= l.plot.y + l.plot.height);
  assert.match(experimentChartSvg(grid(), 'drop'), /<line class="zero"/);
  // A gain is drawn above 0.
  const gain = experimentChartLayout(experimentRows([row('before', 4, 0, 0.5), row('naive', 4, 0, 0.6)]), 'drop')!;
  assert.ok(gain.series[0].points[0].y < gain.zeroY);
});

test('the damage threshold is drawn at −DAMAGE_TEST_DROP, even when no run came near it', () => {
  const small = experimentRows([row('before', 4, 0, 0.9), row('naive', 4, 0, 0.899)]);
  const l = experimentChartLayout(small, 'drop')!;
  assert.equal(l.threshold!.value, -100 * DAMAGE_TEST_DROP);
  assert.ok(l.threshold!.y > l.zeroY && l.threshold!.y <= l.plot.y + l.plot.height, 'inside the plot, below 0');
  const svg = experimentChartSvg(small, 'drop');
  assert.match(svg, /<g class="threshold"><title>damage threshold: a test accuracy drop of 5 points or more<\/title><line /);
  assert.match(svg, />damage −5</);
  assert.equal(experimentChartLayout(grid(true), 'gap')!.threshold, undefined, 'not on the gap chart');
});

test('data text is escaped: a method named <script> never appears raw', () => {
  const evil = '<script>alert("x")</script>';
  const rows = experimentRows([row('before', 2, 0, 0.9, 0), row(evil, 2, 0, 0.8, -0.1), row('naive', 2, 0, 0.85, -0.05)]);
  for (const kind of ['drop', 'gap'] as const) {
    const svg = experimentChartSvg(rows, kind);
    assert.ok(svg, kind);
    assert.doesNotMatch(svg, /<\/?script/i, kind);
    assert.match(svg, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/, kind);
  }
});

test('a single k shows points without lines; an empty grid shows no chart', () => {
  const one = experimentRows([row('before', 16, 0, 0.9), row('naive', 16, 0, 0.8), row('adv+imp', 16, 0, 0.88)]);
  const svg = experimentChartSvg(one, 'drop');
  assert.equal(count(svg, /<g class="point/g), 2);
  assert.equal(count(svg, /<polyline /g), 0);
  assert.equal(count(svg, /<line class="range"/g), 0, 'one seed: no min–max bar');
  const l = experimentChartLayout(one, 'drop')!;
  assert.equal(l.ks.length, 1);
  assert.ok(Math.abs(l.ks[0].x - (l.plot.x + l.plot.width / 2)) < 1e-9, 'in the middle');
  assert.equal(experimentChartSvg([], 'drop'), '');
  assert.equal(experimentChartSvg([], 'gap'), '');
  assert.equal(experimentChartSvg(experimentRows([row('before', 1, 0, 0.9)]), 'drop'), '', 'only the model before: nothing to plot');
});

test('the gap chart only where rows have a gap to the retrained model; before is a reference series; colours match the change chart', () => {
  assert.equal(experimentChartSvg(grid(false), 'gap'), '');
  const svg = experimentChartSvg(grid(true), 'gap');
  assert.match(svg, /^<svg class="experiment-chart" data-chart="gap"/);
  assert.equal(count(svg, /<g class="series /g), 3);
  assert.match(svg, /<g class="series before" data-method="before">/);
  assert.match(svg, />gap to retrained \(test\), points</);
  const drop = experimentChartLayout(grid(true), 'drop')!;
  const gap = experimentChartLayout(grid(true), 'gap')!;
  assert.deepEqual(
    gap.series.map((s) => [s.method, s.cls]),
    [['before', 'before'], ...drop.series.map((s) => [s.method, s.cls])],
  );
  const naive = gap.series[1].points;
  assert.ok(naive[2].y > naive[0].y, 'a larger negative gap is lower');
  // Only some rows with a gap (the references exist for some k): the chart shows those.
  const some = experimentRows([row('before', 1, 0, 0.9), row('naive', 1, 0, 0.8), row('before', 16, 0, 0.9, 0.01), row('naive', 16, 0, 0.8, -0.05)]);
  assert.deepEqual(
    experimentChartLayout(some, 'gap')!.ks.map((t) => t.k),
    [16],
  );
});
