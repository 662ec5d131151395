import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binOf, binStrength, niceStep, niceTicks, SCALE_BINS, tickText } from '../../src/shared/scale';
import { pageOf, pageText } from '../../src/shared/paging';
import { barChartLayout, barChartSvg, fitLabel } from '../../src/shared/barChart';

test('nice ticks: steps of 1, 2 or 5 times a power of ten, the last at or above the largest value', () => {
  assert.equal(niceStep(10, 4), 5);
  assert.equal(niceStep(0.0624, 4), 0.02);
  assert.deepEqual(niceTicks(0.0624), [0, 0.02, 0.04, 0.06, 0.08]);
  assert.deepEqual(niceTicks(1), [0, 0.5, 1]);
  assert.deepEqual(niceTicks(0.3), [0, 0.1, 0.2, 0.3], 'no 0.30000000000000004');
  assert.deepEqual(niceTicks(7), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0), [0, 0.5, 1], 'no values: a unit axis');
  assert.equal(tickText(0.02), '0.02');
  assert.equal(tickText(2.5e-5), '2.5e-5');
  assert.equal(tickText(0), '0');
});

test('colour bins: 0 for nothing, 1..SCALE_BINS over (0, max]; more is always stronger', () => {
  assert.equal(binOf(0, 1), 0);
  assert.equal(binOf(-1, 1), 0);
  assert.equal(binOf(Number.NaN, 1), 0);
  assert.equal(binOf(1, 0), 0, 'a scale of nothing');
  assert.equal(binOf(1e-9, 1), 1, 'any change shows');
  assert.equal(binOf(0.5, 1), SCALE_BINS / 2);
  assert.equal(binOf(1, 1), SCALE_BINS);
  assert.equal(binOf(3, 1), SCALE_BINS, 'clamped');
  const strengths = Array.from({ length: SCALE_BINS + 1 }, (_, b) => binStrength(b));
  assert.equal(strengths[SCALE_BINS], 100);
  for (let b = 1; b <= SCALE_BINS; b++) assert.ok(strengths[b] > strengths[b - 1], `bin ${b} stronger than ${b - 1}`);
});

test('pages: the items of one page, clamped, and the pager text', () => {
  const items = Array.from({ length: 40 }, (_, i) => i);
  const p = pageOf(items, 1, 12);
  assert.deepEqual(p.items, [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
  assert.deepEqual([p.page, p.pages, p.from, p.to, p.total], [1, 4, 12, 24, 40]);
  assert.equal(pageText(p), 'examples 13–24 of 40 (page 2 of 4)');
  const last = pageOf(items, 99, 12);
  assert.deepEqual([last.page, last.items], [3, [36, 37, 38, 39]]);
  assert.equal(pageOf(items, -3, 12).page, 0);
  const empty = pageOf([], 0, 12);
  assert.deepEqual([empty.pages, empty.items.length], [1, 0]);
  assert.equal(pageText(empty), 'no examples');
  assert.throws(() => pageOf(items, 0, 0), /page size must be a positive integer/);
});

test('bar chart geometry: bar length proportional to the value on an axis that covers the largest', () => {
  const l = barChartLayout(
    [
      { label: 'conv1/kernel', value: 0.0624 },
      { label: 'dense/bias', value: 0.02 },
      { label: 'bn/gamma', value: 0 },
    ],
    { width: 600, labelWidth: 150, valueWidth: 50, barHeight: 10, gap: 5 },
  );
  assert.equal(l.plotWidth, 400);
  assert.equal(l.axisMax, 0.08);
  assert.deepEqual(
    l.bars.map((b) => b.y),
    [5, 20, 35],
  );
  assert.ok(Math.abs(l.bars[0].width - 400 * (0.0624 / 0.08)) < 1e-9);
  assert.ok(Math.abs(l.bars[1].width - 100) < 1e-9);
  assert.equal(l.bars[2].width, 0);
  assert.deepEqual(
    l.ticks.map((t) => t.x),
    [150, 250, 350, 450, 550],
  );
  assert.deepEqual(
    l.ticks.map((t) => t.text),
    ['0', '0.02', '0.04', '0.06', '0.08'],
  );
  assert.equal(l.axisY, 50);
});

test('bar chart markup: one bar per item with its value written, escaped labels, an axis title', () => {
  const svg = barChartSvg(
    [
      { label: 'a<b>', value: 1, note: '(x)' },
      { label: 'c', value: 2 },
    ],
    { axisTitle: 'relative change, %', valueText: (v) => `${v} %`, ariaLabel: 'chart' },
  );
  assert.equal((svg.match(/class="bar-rect"/g) ?? []).length, 2);
  assert.ok(svg.includes('a&lt;b&gt;') && !svg.includes('a<b>'));
  assert.ok(svg.includes('>1 % (x)</text>'));
  assert.ok(svg.includes('>relative change, %</text>'));
  assert.equal(fitLabel('block_16_project_BN/moving_variance', 12), '…ng_variance');
  assert.equal(fitLabel('short', 12), 'short');
});
