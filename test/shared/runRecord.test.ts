/**
 * The run-record contract (src/contracts/runRecord.ts): versioned, validated on write and on read,
 * paths relative to the record's folder on disk; version 1 records still read.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseRunLinks, parseRunRecord, runRecordProblems, RunRecordError, serializeRunRecord, RUN_RECORD_FORMAT_V1 } from '../../src/contracts/runRecord';
import { sampleRunRecord } from './runRecordSample';

const folder = path.resolve('/work-sample/models/m.versions/2026-12-02T10-00-00-000-naive');
const file = path.join(folder, 'run.json');

test('written with every path relative to its folder, read back as the same record with absolute paths', () => {
  const record = sampleRunRecord();
  const text = serializeRunRecord(record, folder);
  const onDisk = JSON.parse(text);
  assert.equal(onDisk.format, 'unlearn-lens-run');
  assert.equal(onDisk.version, 2);
  assert.equal(onDisk.model.path, '../../m/model.json');
  assert.equal(onDisk.result.path, 'model.json');
  assert.deepEqual(onDisk.forget.ids, ['../../../data/train/a/0.png', '../../../data/train/b/1.png']);
  assert.ok(!text.includes('/work-sample'), 'no absolute path on disk');
  assert.deepEqual(parseRunRecord(text, file), record);
});

test('a record moved with its workspace resolves against where it is now', () => {
  const text = serializeRunRecord(sampleRunRecord(), folder);
  const moved = path.resolve('/elsewhere/clone/models/m.versions/2026-12-02T10-00-00-000-naive/run.json');
  const r = parseRunRecord(text, moved);
  assert.equal(r.model.path, path.resolve('/elsewhere/clone/models/m/model.json'));
  assert.equal(r.forget.ids[0], path.resolve('/elsewhere/clone/data/train/a/0.png'));
});

test('version 1 records (absolute paths, format tag with /1) are still read, as version 2 in memory', () => {
  const v2 = sampleRunRecord();
  const { version: _version, ...rest } = v2;
  const v1 = { ...rest, format: RUN_RECORD_FORMAT_V1 };
  delete (v1.model as { contract?: unknown }).contract;
  const r = parseRunRecord(JSON.stringify(v1), file);
  assert.equal(r.format, 'unlearn-lens-run');
  assert.equal(r.version, 2);
  assert.equal(r.model.path, v2.model.path);
  assert.deepEqual(r.forget.ids, v2.forget.ids);
});

const refused = (text: string, problem: RunRecordError['problem'], pattern: RegExp) =>
  assert.throws(
    () => parseRunRecord(text, file),
    (e: Error) => {
      assert.ok(e instanceof RunRecordError, `expected a RunRecordError, got ${e}`);
      assert.equal(e.problem, problem);
      assert.ok(e.message.includes(file), `names the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );

test('records that are damaged, newer, or not ours are refused with a message naming run.json', () => {
  const ok = JSON.parse(serializeRunRecord(sampleRunRecord(), folder));
  refused(
    JSON.stringify({ ...ok, steps: '<img src=x onerror=alert(1)>' }),
    'invalid',
    /steps is not a whole number.*restore it from a copy, or remove the version folder/,
  );
  refused(JSON.stringify({ ...ok, forget: { ...ok.forget, labels: [0] } }), 'invalid', /forget\.labels has 1 entries, not 2/);
  refused(
    JSON.stringify({ ...ok, guard: { ...ok.guard, tripped: { step: 3, agreement: 0.5, action: 'explode' } } }),
    'invalid',
    /guard\.tripped\.action is "explode"/,
  );
  refused(JSON.stringify({ ...ok, stopped: 'bored' }), 'invalid', /stopped is "bored"/);
  refused(JSON.stringify({ ...ok, version: 3 }), 'newer', /version 3, newer than this Unlearn Lens reads \(2\)\. Update Unlearn Lens/);
  refused(JSON.stringify({ epochs: 30, lr: 0.1 }), 'not-a-record', /not an Unlearn Lens run record/);
  refused('{ not json', 'not-a-record', /not valid JSON/);
});

test('a measurement written as null (JSON of NaN) reads back as NaN; an invalid record is never written', () => {
  const ok = JSON.parse(serializeRunRecord(sampleRunRecord(), folder));
  const r = parseRunRecord(JSON.stringify({ ...ok, guard: { ...ok.guard, agreement: null } }), file);
  assert.ok(Number.isNaN(r.guard.agreement));
  assert.deepEqual(runRecordProblems(sampleRunRecord()), []);
  const bad = { ...sampleRunRecord(), steps: -1 };
  assert.throws(
    () => serializeRunRecord(bad, folder),
    (e: Error) => e instanceof RunRecordError && /does not meet its schema \(steps is not a whole number\); nothing was written/.test(e.message),
  );
});

test('an early version 1 record without a later field is refused for the views, but still links its chain', () => {
  const { version: _version, guard: _guard, ...early } = sampleRunRecord();
  const text = JSON.stringify({ ...early, format: RUN_RECORD_FORMAT_V1 });
  refused(text, 'invalid', /guard is not an object\. It was written by an early Unlearn Lens .* its model version is unaffected/);
  const links = parseRunLinks(text, file);
  assert.equal(links.model, early.model.path);
  assert.deepEqual(links.forget, { ids: early.forget.ids, labels: early.forget.labels });
  const broken = JSON.stringify({ ...early, format: RUN_RECORD_FORMAT_V1, forget: { ids: ['a.png'] } });
  assert.throws(
    () => parseRunLinks(broken, file),
    (e: Error) => e instanceof RunRecordError && /forget\.labels is not a list of whole numbers/.test(e.message),
  );
});
