import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeOnImportantUnits, shade, unitHeatmapHtml } from '../../src/shared/heatmap';

test('shade scales a value to its row maximum and keeps empty cells faintly visible', () => {
  assert.equal(shade(0, 4), 0.06);
  assert.equal(shade(4, 4), 1);
  assert.equal(shade(2, 4), 0.53);
  assert.equal(shade(9, 4), 1, 'clamped');
  assert.equal(shade(1, 0), 0.06, 'a row that did not move');
  assert.equal(shade(Number.NaN, 1), 0.06);
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

test('the heatmap has a cell per unit, a second row with importance, and escapes names', () => {
  const html = unitHeatmapHtml([
    { name: 'conv<1>/kernel', delta: 1, relative: 0.1, units: [0.5, 0, 1], importance: [1, 0, 0.25] },
    { name: 'dense/bias', delta: 1, relative: 0.1, units: [2, 2] },
  ]);
  assert.equal((html.match(/<rect /g) ?? []).length, 3 + 3 + 2);
  assert.ok(html.includes('conv&lt;1&gt;/kernel') && !html.includes('conv<1>'));
  assert.match(html, /conv&lt;1&gt;\/kernel unit 2: ‖Δθ‖ 1\.00e\+0, importance 0\.25/);
  assert.match(html, /fill-opacity:1"><title>conv&lt;1&gt;\/kernel unit 0: importance 1\.00/);
  // The top tenth of 3 units is 1 unit (importance 1, change 0.5): 0.25 of 0.25 + 0 + 1 = 20 %.
  assert.match(html, /took <strong>20\.0 %<\/strong> of the squared weight change/);
  assert.doesNotMatch(unitHeatmapHtml([{ name: 'dense/bias', delta: 1, relative: 0.1, units: [2, 2] }]), /took|fill:var\(--vscode-charts-blue\)/, 'no importance, no share and no importance row');
});
