import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { diagnosticMessage, labelSuggestions, replaceLabel } from '../../src/shared/manifestFixes';

const classes = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

test('a diagnostic message drops "Line N of <manifest>:" and says paths relative to the workspace', () => {
  const root = path.resolve('/home/u/ws');
  const manifest = path.join(root, 'data', 'train.csv');
  const raw = `Line 8 of ${manifest}: ${path.join(root, 'data', 'train', 'Shirt', 'missing.png')} does not exist. Fix the path (relative to the manifest) or remove the line.`;
  assert.equal(
    diagnosticMessage(raw, manifest, [root]),
    `${path.join('data', 'train', 'Shirt', 'missing.png')} does not exist. Fix the path (relative to the manifest) or remove the line.`,
  );
  // A nested workspace folder wins over its parent; paths outside every folder stay absolute.
  assert.equal(diagnosticMessage(`see ${path.join(root, 'data', 'x.png')}`, manifest, [root, path.join(root, 'data')]), 'see x.png');
  assert.equal(diagnosticMessage(`see ${path.resolve('/elsewhere/x.png')}`, manifest, [root]), `see ${path.resolve('/elsewhere/x.png')}`);
});

test('labels offered for an unknown one: the class whose folder holds the image, then close spellings', () => {
  assert.deepEqual(labelSuggestions('Jacket', classes, 'train/Sandal/x.png'), ['Sandal']);
  // Folder names hold "_" for characters a folder cannot ("T-shirt/top" → "T-shirt_top").
  assert.deepEqual(labelSuggestions('Jacket', classes, 'train/T-shirt_top/x.png')[0], 'T-shirt/top');
  assert.deepEqual(labelSuggestions('sneakers', classes), ['Sneaker']);
  assert.deepEqual(labelSuggestions('shirt', classes).slice(0, 1), ['Shirt']);
  assert.deepEqual(labelSuggestions('zzzzzzzzzzzz', classes), [], 'nothing plausible: no guess');
});

test('the label replaced in a CSV or JSONL line, quoted when it must be', () => {
  const csv = 'train/Sandal/x.png,Jacket';
  const e = replaceLabel(csv, 'Jacket', 'Sandal', false)!;
  assert.equal(csv.slice(0, e.start) + e.text + csv.slice(e.end), 'train/Sandal/x.png,Sandal');
  const withSplit = 'train/Jacket/x.png,Jacket,train';
  const e2 = replaceLabel(withSplit, 'Jacket', 'Coat', false)!;
  assert.equal(
    withSplit.slice(0, e2.start) + e2.text + withSplit.slice(e2.end),
    'train/Jacket/x.png,Coat,train',
    'the label field, not the folder in the path',
  );
  const e3 = replaceLabel('a.png,Jacket', 'Jacket', 'Boot, ankle', false)!;
  assert.equal(e3.text, '"Boot, ankle"');
  const jsonl = '{"path": "train/Sandal/x.png", "label": "Jacket"}';
  const e4 = replaceLabel(jsonl, 'Jacket', 'T-shirt/top', true)!;
  assert.equal(jsonl.slice(0, e4.start) + e4.text + jsonl.slice(e4.end), '{"path": "train/Sandal/x.png", "label": "T-shirt/top"}');
  const e5 = replaceLabel('{"path":"a.png","label":12}', '12', 'Bag', true)!;
  assert.equal(e5.text, '"Bag"');
  assert.equal(replaceLabel('a.png,Coat', 'Jacket', 'Bag', false), undefined);
});
