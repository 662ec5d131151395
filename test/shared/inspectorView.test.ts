import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importanceHtml, modelSummaryHtml, statText, versionsHtml, type VersionRow } from '../../src/shared/inspectorView';
import type { ModelSummary } from '../../src/contracts/inspect';

const stats = (over: object = {}) => ({ count: 4, mean: 0.25, std: 0.5, min: -1, max: 1, zeros: 0.25, ...over });
const summary: ModelSummary = {
  file: '/w/models/m/model.json',
  generatedBy: 'TensorFlow.js tfjs-layers v4.22.0',
  inputShape: [8, 8, 1],
  outputShape: [3],
  parameters: 1234567,
  trainableParameters: 1234500,
  layers: [
    {
      name: 'conv<1>',
      className: 'Conv2D',
      outputShape: [8, 8, 2],
      parameters: 20,
      weights: [{ name: 'conv<1>/kernel', shape: [3, 3, 1, 2], trainable: true, stats: stats({ count: 18 }) }],
    },
    {
      name: 'bn',
      className: 'BatchNormalization',
      outputShape: [null, 8, 2],
      parameters: 8,
      weights: [{ name: 'bn/moving_mean', shape: [2], trainable: false, stats: stats({ count: 2, mean: 1.5e-6 }) }],
    },
  ],
  contract: { ok: true, text: 'model: input 8×8×1\nline two' },
  seconds: { load: 0.12, stats: 0.01 },
};

test('statistics print with 4 significant digits, scientific notation for the very small or large', () => {
  assert.equal(statText(0), '0');
  assert.equal(statText(0.123456), '0.1235');
  assert.equal(statText(1.5e-6), '1.50e-6');
  assert.equal(statText(-123456), '-1.23e+5');
});

test('the model summary: one row per layer and per weight, shapes, counts, statistics, definitions, escaped names', () => {
  const html = modelSummaryHtml(summary);
  assert.match(html, /2 layers · 1,234,567 parameters \(1,234,500 trained\) · input 8 × 8 × 1 · output 3/);
  assert.equal((html.match(/<tr class="layer">/g) ?? []).length, 2);
  assert.equal((html.match(/<tr class="weight">/g) ?? []).length, 2);
  assert.ok(html.includes('conv&lt;1&gt;/kernel') && !html.includes('conv<1>'));
  assert.match(html, /<td>\? × 8 × 2<\/td>/, 'an unknown dimension is ?');
  assert.match(html, /<td class="num">0\.25<\/td><td class="num">0\.5<\/td><td class="num">-1<\/td><td class="num">1<\/td><td class="num">25\.0 %<\/td>/);
  assert.match(html, /\(not trained: running statistic\)/);
  for (const term of ['output shape', 'parameters', 'mean, std, min, max', 'zeros']) assert.match(html, new RegExp(`<dt>${term}</dt><dd>`), `${term} defined`);
  assert.match(html, /model: input 8×8×1<br>line two/);
  const refused = modelSummaryHtml({ ...summary, contract: { ok: false, problem: 'has 2 inputs' } });
  assert.match(refused, /cannot unlearn this model as it is:<\/strong> has 2 inputs/);
});

test('versions: newest first, what each erased and what came back, this file and the active one marked', () => {
  const row = (over: Partial<VersionRow>): VersionRow => ({
    id: 'r1',
    createdAt: '2026-12-02T10:00:00.000Z',
    method: 'adv+imp, k = 2',
    erased: ['/w/data/train/Bag/1.png', '/w/data/train/Bag/2.png'],
    cameBack: [],
    testBefore: 0.9,
    testAfter: 0.85,
    damage: [],
    startedFrom: 'the original',
    isThis: false,
    active: false,
    ...over,
  });
  const html = versionsHtml(
    [row({}), row({ id: 'r2', startedFrom: 'r1', cameBack: ['/w/data/train/Bag/1.png'], isThis: true, active: true, damage: ['test accuracy fell'] })],
    '/w/models/m/model.json',
    false,
  );
  const ids = [...html.matchAll(/<tr[^>]*><td><code>([^<]+)<\/code>/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['r2', 'r1']);
  assert.match(html, /<tr class="this"><td><code>r2<\/code> <strong>this file, active, damaged<\/strong>/);
  assert.match(html, /Bag\/1\.png, Bag\/2\.png<\/span> <span class="note">\(2\)/);
  assert.match(html, /<td><span title="\/w\/data\/train\/Bag\/1\.png">Bag\/1\.png<\/span><\/td>/, 'came back, full path on hover');
  assert.match(html, /90\.0 % → 85\.0 %/);
  assert.match(versionsHtml([], '/w/m/model.json', true), /No versions yet/);
});

test('importance: thumbnails with names and predictions, then one heatmap row per tensor on a 0..1 scale', () => {
  const html = importanceHtml(
    {
      images: ['/w/a/Bag/1.png'],
      imageShape: [8, 8, 1],
      tensors: [
        { name: 'c/kernel', units: [0, 1] },
        { name: 'c/bias', units: [0.5, 0.5] },
      ],
      predicted: [2],
      seconds: 0.4,
    },
    ['data:image/png;base64,AAAA'],
    (i) => ['a', 'b', 'Bag'][i],
  );
  assert.match(html, /<img class="thumb" src="data:image\/png;base64,AAAA" alt="Bag\/1\.png" title="\/w\/a\/Bag\/1\.png">/);
  assert.match(html, /model says Bag/);
  assert.equal((html.match(/<div class="unit-row"/g) ?? []).length, 2);
  assert.match(html, /MAS importance/);
  assert.doesNotMatch(html, /type="radio"/);
});
