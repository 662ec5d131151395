import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durationText, experimentExports, experimentRows, GridTracker } from '../../src/shared/experimentView';

test('progress over the whole grid: runs done of all, the ones going, time left from the runs done', () => {
  const t = new GridTracker({ methods: ['naive', 'adv+imp'], ks: [1, 16], seeds: [0] }, 0);
  assert.equal(t.total, 4);
  assert.equal(t.update({ method: 'setup', k: 1, seed: 0, inner: { phase: 'evaluate' } }, 1000).done, 0, 'set-up is not a run');
  let p = t.update({ method: 'naive', k: 1, seed: 0, inner: { phase: 'unlearn' } }, 2000);
  assert.equal(p.text, '0 of 4 runs done · going: k = 1, seed 0: naive · time left known after the first run');
  p = t.update({ method: 'naive', k: 1, seed: 0, inner: { phase: 'evaluate' } }, 60_000);
  assert.equal(p.done, 1);
  assert.equal(p.secondsLeft, 180, 'one run a minute, three to go');
  assert.deepEqual(p.running, []);
  p = t.update({ method: 'naive', k: 1, seed: 0, inner: { phase: 'evaluate' } }, 61_000);
  assert.equal(p.done, 1, 'a run counts once');
  p = t.update({ method: 'adv+imp', k: 16, seed: 0, inner: { phase: 'attack' } }, 90_000);
  assert.equal(p.text, '1 of 4 runs done · going: k = 16, seed 0: adv+imp · about 5 min left');
});

test('durations in words', () => {
  assert.equal(durationText(0.2), '1 s');
  assert.equal(durationText(45), '45 s');
  assert.equal(durationText(180), '3 min');
  assert.equal(durationText(3900), '1 h 5 min');
});

test('result rows: test change against the model before the run (same k and seed), damage flagged, exports', () => {
  const row = (method: string, k: number, test: number) => ({
    k,
    seed: 0,
    method,
    forget: method === 'before' ? 1 : 0,
    retain: 0.9,
    test,
    steps: 3,
    seconds: 1.5,
    stopped: 'forgotten',
  });
  const rows = experimentRows([row('before', 16, 0.887), row('naive', 16, 0.47), row('adv+imp', 16, 0.86), row('before', 1, 0.9), row('naive', 1, 0.85)]);
  assert.equal(rows[0].testDrop, undefined);
  assert.ok(Math.abs(rows[1].testDrop! + 0.417) < 1e-9);
  assert.deepEqual(
    rows.map((r) => r.damaged),
    [false, true, false, false, true],
    'exactly 5 points counts',
  );
  const { csv, markdown } = experimentExports('Unlearning experiment', rows);
  assert.equal(csv.trim().split('\n').length, 6);
  assert.match(csv.split('\n')[2], /^16,0,naive,0,0\.9,0\.47,-0\.41\d*,true,/);
  assert.match(markdown, /\| 16 \| 0 \| naive \| 0\.0 \| 90\.0 \| 47\.0 \| ⚠ −41\.7 \|/);
  assert.match(markdown, /\| 16 \| 0 \| adv\+imp \| 0\.0 \| 90\.0 \| 86\.0 \| −2\.7 \|/);
});

test('gap columns when a retrained reference exists', () => {
  const row = (method: string, test: number, gap?: { forget: number; test: number; membershipAuc: number }) => ({
    k: 16,
    seed: 0,
    method,
    forget: 0,
    retain: 0.9,
    test,
    steps: 3,
    seconds: 1.5,
    stopped: 'forgotten',
    ...(gap ? { gap } : {}),
  });
  const rows = experimentRows([
    row('before', 0.9, { forget: 0.125, test: -0.005, membershipAuc: 0.01 }),
    row('naive', 0.47, { forget: -0.875, test: -0.44, membershipAuc: 0.2 }),
  ]);
  const { csv, markdown } = experimentExports('t', rows);
  assert.match(csv.split('\n')[0], /,gap_forget,gap_test,gap_membership_auc$/);
  assert.match(csv.split('\n')[2], /,-0\.875,-0\.44,0\.2$/);
  assert.match(markdown, /\| gap forget \| gap test \| gap AUC \|/);
  assert.match(markdown, /\| naive \|.*\| −87\.5 \| −44\.0 \| \+20\.0 \|$/m);
  assert.doesNotMatch(experimentExports('t', experimentRows([row('before', 0.9)])).csv, /gap/, 'no columns without a reference');
});
