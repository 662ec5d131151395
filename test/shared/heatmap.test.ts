import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeOnImportantUnits, groupRows, groupTitle, heatmapHtml, largest, unitHeatmapHtml, weightGroup } from '../../src/shared/heatmap';
import { SCALE_BINS } from '../../src/shared/scale';

test('weights group by kind: kernels with kernels, biases with biases, a numbered suffix ignored', () => {
  assert.equal(weightGroup('conv2d_1/kernel'), 'kernel');
  assert.equal(weightGroup('block_3_depthwise/depthwise_kernel'), 'depthwise_kernel');
  assert.equal(weightGroup('bn/gamma'), 'gamma');
  assert.equal(weightGroup('dense/bias_1'), 'bias');
  assert.equal(groupTitle('gamma'), 'BatchNorm scales (γ)');
  const groups = groupRows([
    { name: 'c1/kernel', change: [1, 2] },
    { name: 'c1/bias', change: [0.1] },
    { name: 'c2/kernel', change: [8, 0] },
  ]);
  assert.deepEqual(
    groups.map((g) => [g.group, g.rows.map((r) => r.name), g.max]),
    [
      ['kernel', ['c1/kernel', 'c2/kernel'], 8],
      ['bias', ['c1/bias'], 0.1],
    ],
  );
  assert.equal(largest([Number.NaN, -1, 3, Infinity]), 3, 'finite values only');
});

test('each cell has its bin on the group scale and on its row scale', () => {
  // Group max 8 (from c2/kernel): c1/kernel's 2 is bin 2 of 8 on the group scale and bin 8 on its own.
  const html = heatmapHtml(
    [
      { name: 'c1/kernel', change: [1, 2] },
      { name: 'c2/kernel', change: [8, 0] },
    ],
    { id: 'hm', changeUnit: '‖Δθ‖ per unit' },
  );
  const classes = [...html.matchAll(/<rect x="\d+" width="\d+" height="14" class="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(classes, ['g1 r4', 'g2 r8', 'g8 r8', 'g0 r0']);
  assert.match(html, /id="hm-group" checked/);
  assert.match(html, /id="hm-row" class="per-row"/);
  assert.match(html, /one scale for all kernels \(conv and dense weights\)/);
  // The colour scale: 9 swatches, ticks 0, half and the group's largest value.
  const scale = /<svg class="colour-scale change"[^]*?<\/svg>/.exec(html)![0];
  assert.equal((scale.match(/<rect /g) ?? []).length, SCALE_BINS + 1);
  assert.deepEqual(
    [...scale.matchAll(/class="tick">([^<]+)</g)].map((m) => m[1]),
    ['none', '0', '4', '8'],
  );
});

test('importance-only maps (the inspector): a fixed 0..1 scale, no scale toggle', () => {
  const html = heatmapHtml([{ name: 'c1/kernel', importance: [0, 0.5, 1] }], { id: 'imp' });
  assert.doesNotMatch(html, /type="radio"/);
  assert.match(html, /<svg class="colour-scale importance"/);
  const classes = [...html.matchAll(/class="(g\d r\d)" data-i/g)].map((m) => m[1]);
  assert.deepEqual(classes, ['g0 r0', `g${SCALE_BINS / 2} r${SCALE_BINS / 2}`, `g${SCALE_BINS} r${SCALE_BINS}`]);
  assert.match(html, /data-importance="\[0,0\.5,1\]"/);
  assert.equal(heatmapHtml([], { id: 'x' }), '<p>No per-unit values to show.</p>');
});

test('the share of change on the most important tenth of units, per tensor', () => {
  // 10 units: the most important (index 3) moved by 3, the nine others by 1 each: 9 / (9 + 9) = 0.5.
  const units = [1, 1, 1, 3, 1, 1, 1, 1, 1, 1];
  const importance = [0.1, 0.2, 0.3, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
  assert.equal(changeOnImportantUnits([{ name: 'conv/kernel', delta: 0, relative: 0, units, importance }]), 0.5);
  // A tensor without importance does not count; with none at all there is no share.
  assert.equal(changeOnImportantUnits([{ name: 'conv/kernel', delta: 0, relative: 0, units }]), undefined);
  // Rounding: 4 units still have a top unit (the one with importance 1), which took 4 of 4 + 1 + 1 + 1 squared.
  assert.equal(changeOnImportantUnits([{ name: 'b', delta: 0, relative: 0, units: [1, 2, 1, 1], importance: [0, 1, 0.5, 0] }]), 4 / 7);
});

test('the report heatmap has a cell per unit, labelled strips, values for the readout, and escapes names', () => {
  const html = unitHeatmapHtml([
    { name: 'conv<1>/kernel', delta: 1, relative: 0.1, units: [0.5, 0, 1], importance: [1, 0, 0.25] },
    { name: 'dense/bias', delta: 1, relative: 0.1, units: [2, 2] },
  ]);
  assert.equal((html.match(/<rect x="\d+" width/g) ?? []).length, 3 + 3 + 2);
  assert.ok(html.includes('conv&lt;1&gt;/kernel') && !html.includes('conv<1>'));
  assert.equal((html.match(/<span class="strip-label">change<\/span><svg class="strip change"/g) ?? []).length, 2);
  assert.equal((html.match(/<span class="strip-label">importance<\/span><svg class="strip importance"/g) ?? []).length, 1);
  assert.match(html, /data-change="\[0\.5,0,1\]" data-importance="\[1,0,0\.25\]"/);
  assert.match(html, /unit 0<\/span><span>unit 2</);
  assert.match(html, /class="unit-readout"/);
  // Defined where shown, the same words in every theme: stronger colour is more.
  assert.match(html, /the stronger the colour, the more it moved/);
  assert.doesNotMatch(html, /darker/);
  // The top tenth of 3 units is 1 unit (importance 1, change 0.5): 0.25 of 0.25 + 0 + 1 = 20 %.
  assert.match(html, /took <strong>20\.0 %<\/strong> of the squared weight change/);
  assert.doesNotMatch(
    unitHeatmapHtml([{ name: 'dense/bias', delta: 1, relative: 0.1, units: [2, 2] }]),
    /took|class="strip importance"/,
    'no importance, no share and no importance row',
  );
});
