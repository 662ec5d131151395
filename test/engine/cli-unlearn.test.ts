/**
 * End to end: `unlearn-lens unlearn` through the real CLI on a class-folder dataset and a manifest:
 * a new version beside the model, the original untouched, the held-out data found, and clear
 * errors (exit code 2, the file named) for bad input.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { initBackend } from '../../src/engine/runtime/backend';
import { parseLines } from '../../src/cli/unlearn';
import { classFolderFixture, writePng } from './helpers';

const run = promisify(execFile);
const cli = path.join(__dirname, '../../src/cli/main.ts');
const unlearn = (args: string[]) => run(process.execPath, ['--import', 'tsx', cli, 'unlearn', '--backend', 'cpu', ...args], { timeout: 120_000 });

before(() => initBackend({ choice: 'cpu' }));

test('unlearn forgets two images into a new version, finds the test folder, and leaves the model and data as they were', async () => {
  const { dir, model, files } = await classFolderFixture('unlearn-cli-');
  // A test split beside train: the run measures collateral damage on it without being told.
  ['a', 'b', 'c'].forEach((cls, label) => writePng(path.join(dir, 'data', 'test', cls, '0.png'), 40 * label + 30));
  const before = [model, ...files].map((f) => fs.readFileSync(f));
  const json = path.join(dir, 'record.json');
  const { stdout } = await unlearn(['--model', model, '--method', 'naive', '--max-epochs', '20', '--json', json, files[2], files[3]]);
  const record = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.match(stdout, new RegExp(`^Unlearn: 2 of 2 forgotten in ${record.steps} steps\\..* Saved as version ${record.id}\\.$`, 'm'));
  assert.match(stdout, /^forget 100\.0 % → 0\.0 %, test \d+\.\d % → \d+\.\d %; /m);
  assert.match(stdout, /^No membership audit: it needs at least 4 forget instances \(this run had 2\)\.$/m);
  assert.equal(record.audit, undefined);
  assert.equal(record.stopped, 'forgotten');
  assert.deepEqual(record.forget.ids, [files[2], files[3]]);
  assert.deepEqual(record.forget.classNames, ['a', 'b', 'c']);
  assert.equal(typeof record.before.test, 'number', 'the test folder beside train was used');
  const version = path.join(`${path.dirname(model)}.versions`, record.id);
  assert.equal(record.result.path, path.join(version, 'model.json'));
  assert.ok(fs.existsSync(path.join(version, 'run.json')));
  assert.match(stdout, new RegExp(`new version: ${record.result.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(the original .* is unchanged\\)`));
  [model, ...files].forEach((f, i) => assert.deepEqual(fs.readFileSync(f), before[i], `${f} changed`));
});

test('with 4 or more instances and held-out data, the run record and the output carry the membership audit', async () => {
  const { dir, model, files } = await classFolderFixture('unlearn-cli-audit-');
  const json = path.join(dir, 'record.json');
  const { stdout } = await unlearn([
    '--model',
    model,
    '--test',
    path.join(dir, 'data', 'train'),
    '--method',
    'naive',
    '--max-epochs',
    '20',
    '--json',
    json,
    ...files.slice(0, 4),
  ]);
  const record = JSON.parse(fs.readFileSync(json, 'utf8'));
  for (const side of ['before', 'after']) {
    const a = record.audit[side];
    assert.equal(a.pairs, 4, side);
    assert.ok(a.accuracy >= 0 && a.accuracy <= 1, `${side} accuracy ${a.accuracy}`);
    assert.ok(a.medianLoss.forget > 0 && a.medianLoss.heldOut > 0, side);
  }
  assert.match(
    stdout,
    /^Can an attacker who sees only the loss tell the forget instances from unseen data\? .* 4 forget vs 4 held-out instances, .* Before: \d+\.\d % .* After: \d+\.\d % .* With 4 pairs this is a rough estimate\.$/m,
  );
});

test('a run from a version checks that the instances earlier runs erased stay forgotten', async () => {
  const { dir, model, files } = await classFolderFixture('unlearn-cli-continual-');
  const first = path.join(dir, 'first.json');
  await unlearn(['--model', model, '--method', 'naive', '--max-epochs', '20', '--json', first, files[2], files[3]]);
  const r1 = JSON.parse(fs.readFileSync(first, 'utf8'));
  assert.equal(r1.stopped, 'forgotten');
  assert.equal(r1.earlier, undefined, 'the original model carries no erasures');
  const second = path.join(dir, 'second.json');
  // Relabelled (c → a), so the run goes ahead even when the first run's model already misclassifies files[4].
  const { stdout } = await unlearn(['--model', r1.result.path, '--method', 'naive', '--relabel', 'a', '--max-epochs', '20', '--json', second, files[4]]);
  const r2 = JSON.parse(fs.readFileSync(second, 'utf8'));
  assert.equal(r2.earlier.instances, 2);
  assert.equal(r2.earlier.missing, 0);
  assert.equal(r2.earlier.rememberedBefore, 0, 'the first run left both forgotten');
  assert.equal(r2.earlier.cameBack.length, r2.earlier.rememberedAfter, 'forgotten before, so any remembered now came back');
  assert.ok(r2.earlier.cameBack.every((id: string) => [files[2], files[3]].includes(id)));
  assert.match(
    stdout,
    r2.earlier.cameBack.length
      ? /Warning: \d instances? earlier runs? erased (is|are) predicted as/
      : /The 2 instances erased by earlier runs stay forgotten\./,
  );
  // An erased image deleted afterwards (as an erasure request may ask) is counted, not a failure.
  fs.rmSync(files[3]);
  const third = path.join(dir, 'third.json');
  await unlearn(['--model', r2.result.path, '--method', 'naive', '--relabel', 'a', '--max-epochs', '20', '--json', third, files[5]]);
  const r3 = JSON.parse(fs.readFileSync(third, 'utf8'));
  assert.equal(r3.earlier.instances, 2, 'files[2] and files[4] are checked');
  assert.equal(r3.earlier.missing, 1, 'files[3] is gone');
});

test('unlearn takes manifest lines as an editor numbers them', async () => {
  const { dir, model } = await classFolderFixture('unlearn-cli-manifest-');
  const manifest = path.join(dir, 'data', 'train.csv');
  fs.writeFileSync(manifest, ['path,label', 'train/a/0.png,a', 'train/b/0.png,b', 'train/b/1.png,b', 'train/c/0.png,c'].join('\n'));
  const json = path.join(dir, 'record.json');
  await unlearn([
    '--model',
    model,
    '--manifest',
    manifest,
    '--lines',
    '3-4',
    '--method',
    'naive',
    '--forget-term',
    'nearest-ce',
    '--max-epochs',
    '20',
    '--json',
    json,
  ]);
  const record = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(record.options.forgetTerm, 'nearest-ce', '--forget-term reaches the engine');
  assert.equal(record.forget.ids.length, 2);
  assert.deepEqual(record.forget.labels, [1, 1], 'lines 3 and 4 are the two b rows');
});

test('--relabel moves the instances to the named class, or each to the class the model ranks next', async () => {
  const { dir, model, files } = await classFolderFixture('unlearn-cli-relabel-');
  const json = path.join(dir, 'record.json');
  // files[0] is an a, files[2] a b: both to c.
  const { stdout } = await unlearn(['--model', model, '--relabel', 'c', '--method', 'naive', '--max-epochs', '50', '--json', json, files[0], files[2]]);
  const record = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.deepEqual(record.options.objective, { kind: 'relabel', labels: [2, 2] });
  const hits = record.forget.predictedAfter.filter((p: number) => p === 2).length;
  assert.match(stdout, new RegExp(`^Unlearn: ${hits} of 2 relabelled in ${record.steps} steps\\.`, 'm'));
  if (record.stopped === 'forgotten') assert.equal(hits, 2, 'a relabel run stops once every instance has its new label');
  const nearest = path.join(dir, 'nearest.json');
  await unlearn(['--model', model, '--relabel', 'nearest', '--method', 'naive', '--max-epochs', '5', '--json', nearest, files[0], files[2], files[4]]);
  const n = JSON.parse(fs.readFileSync(nearest, 'utf8'));
  assert.equal(n.options.objective.labels.length, 3);
  n.options.objective.labels.forEach((y: number, i: number) => assert.notEqual(y, n.forget.labels[i], `instance ${i}: the nearest other class`));
});

test('with --guard-action ask and no terminal, a tripped guard stops and rolls back, and says so', async () => {
  const { dir, model, files } = await classFolderFixture('unlearn-cli-ask-');
  const json = path.join(dir, 'record.json');
  // Held-out data = the training folder: forgetting the b images changes predictions on it at once.
  const { stdout, stderr } = await unlearn([
    '--model',
    model,
    '--test',
    path.join(dir, 'data', 'train'),
    '--method',
    'naive',
    '--guard-action',
    'ask',
    '--max-epochs',
    '20',
    '--json',
    json,
    files[2],
    files[3],
  ]);
  const record = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.match(stderr, /--guard-action ask: no terminal to ask on, so a tripped guard will stop the run and roll back\./);
  assert.equal(record.stopped, 'guard');
  assert.equal(record.guard.tripped.action, 'stop');
  assert.equal(record.guard.tripped.answer, undefined, 'nobody answered');
  assert.equal(record.guard.tripped.rolledBackToStep, 0);
  assert.match(stdout, /The guard stopped it at step \d+ \(agreement with the original model \d+\.\d %\) and rolled back to step 0\./);
});

test('unlearn refuses bad input with exit code 2, naming the file or the fix', async () => {
  const { dir, model, files } = await classFolderFixture('unlearn-cli-bad-');
  const refuses = async (args: string[], message: RegExp) =>
    assert.rejects(unlearn(args), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2, e.stderr);
      assert.match(e.stderr, message);
      return true;
    });
  await refuses([files[0]], /unlearn needs --model PATH\/model\.json/);
  await refuses(
    ['--model', path.join(dir, 'nope', 'model.json'), files[0]],
    /nope\/model\.json does not exist\. Point --model at a TensorFlow\.js model\.json\./,
  );
  await refuses(['--model', model], /Nothing is selected to forget/);
  await refuses(['--model', model, '--method', 'forgetful', files[0]], /Unknown method "forgetful"; choose from naive, adv, imp, adv\+imp/);
  await refuses(['--model', model, '--guard-action', 'pause', files[0]], /Unknown guard action "pause"; choose from report, stop, ask/);
  await refuses(
    ['--model', model, '--forget-term', 'hinge', files[0]],
    /Unknown forget term "hinge"; choose from negative-ce, remembered-ce, margin, nearest-ce/,
  );
  await refuses(
    ['--model', model, '--relabel', 'zebra', files[0]],
    /Relabel: "zebra" is not a class of this data\. Use a class name \(a, b, c\) or an index 0\.\.2\./,
  );
  await refuses(['--model', model, '--relabel', 'a', files[0]], /Relabel: .*a\/0\.png is already labelled a\. A new label must differ/);
  await refuses(
    ['--model', model, '--relabel', 'b,c', files[0], files[2], files[4]],
    /Relabel names 2 classes for 3 selected instances\. Name one class for all of them, or one per instance/,
  );
  await refuses(['--model', model, '--relabel', 'b,', files[0]], /--relabel takes nearest, a class, or a comma list of classes/);
  const broken = path.join(dir, 'data', 'train', 'a', 'broken.png');
  fs.writeFileSync(broken, 'not an image');
  await refuses(['--model', model, broken], new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*not a PNG or JPEG`));
  const manifest = path.join(dir, 'data', 'm.csv');
  fs.writeFileSync(manifest, 'path,label\ntrain/a/0.png,a\n');
  await refuses(['--model', model, '--manifest', manifest], /--manifest needs --lines/);
  await refuses(['--model', model, '--manifest', manifest, '--lines', '2,7-8'], /Lines 7–8 are past the end of .*m\.csv, which has 3 lines\./);
  await refuses(
    ['--model', model, '--manifest', manifest, '--lines', '1'],
    /Line 1 of .*m\.csv does not name an instance: a header, a blank line or a comment is not one\./,
  );
  assert.equal(fs.existsSync(`${path.dirname(model)}.versions`), false, 'nothing was written');
});

test('--lines: 1-based ranges and lists, deduplicated and sorted; anything else is refused', () => {
  assert.deepEqual(parseLines('2,5,9-11,5'), [1, 4, 8, 9, 10]);
  assert.throws(() => parseLines('0'), /line numbers from 1/);
  assert.throws(() => parseLines('4-2'), /got "4-2"/);
  assert.throws(() => parseLines('x'), /got "x"/);
  assert.throws(() => parseLines(' , '), /--lines is empty/);
});

test('--objective unseen runs "as if never seen" from the command line; --objective relabel needs --relabel', async () => {
  const { dir, model, files } = await classFolderFixture('unlearn-cli-unseen-');
  ['a', 'b', 'c'].forEach((cls, label) => writePng(path.join(dir, 'data', 'test', cls, '0.png'), 40 * label + 30));
  const json = path.join(dir, 'record.json');
  const before = [model, ...files].map((f) => fs.readFileSync(f));
  await unlearn(['--model', model, '--objective', 'unseen', '--method', 'naive', '--max-epochs', '20', '--json', json, files[2], files[3]]);
  const record = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(record.options.objective.kind, 'unseen');
  assert.equal(record.options.forgetStatistics, 'running');
  [model, ...files].forEach((f, i) => assert.deepEqual(fs.readFileSync(f), before[i], `${f} changed`));
  await assert.rejects(unlearn(['--model', model, '--objective', 'relabel', files[2]]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--objective relabel needs the new labels/);
    return true;
  });
  await assert.rejects(unlearn(['--model', model, '--objective', 'forgetful', files[2]]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /objective.*misclassify, relabel, unseen/);
    return true;
  });
});
