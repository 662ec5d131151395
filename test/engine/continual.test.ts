import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { earlierErasures } from '../../src/engine/jobs/continual';
import { UserInputError } from '../../src/contracts/errors';
import { serializeRunRecord } from '../../src/contracts/runRecord';
import { sampleRunRecord } from '../shared/runRecordSample';

/** A version folder with a run.json that started from `from` and erased `ids` (paths under `root`). */
function version(root: string, id: string, from: string, ids: string[], labels: number[], after: number[]): string {
  const dir = path.join(root, 'model.versions', id);
  fs.mkdirSync(dir, { recursive: true });
  const record = sampleRunRecord({ id, model: from, result: path.join(dir, 'model.json'), ids: ids.map((f) => path.join(root, f)), labels, after });
  fs.writeFileSync(path.join(dir, 'run.json'), serializeRunRecord(record, dir));
  return path.join(dir, 'model.json');
}

test('earlier erasures follow the chain of versions, newest run first, each instance once', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-chain-'));
  const original = path.join(root, 'model', 'model.json');
  const v1 = version(root, 'r1', original, ['a.png', 'b.png'], [0, 1], [2, 1]);
  const v2 = version(root, 'r2', v1, ['b.png', 'c.png'], [1, 2], [0, 0]);
  const expected = (at: string) => [
    { id: path.join(at, 'b.png'), label: 1 },
    { id: path.join(at, 'c.png'), label: 2 },
    { id: path.join(at, 'a.png'), label: 0 },
  ];
  assert.deepEqual(await earlierErasures(v2), expected(root));
  // The workspace moves (another clone, a Codespace): the chain and the instances move with it.
  const moved = `${root}-moved`;
  fs.renameSync(root, moved);
  assert.deepEqual(await earlierErasures(path.join(moved, 'model.versions', 'r2', 'model.json')), expected(moved));
});

test("the original model has no earlier erasures; another tool's run.json or a cyclic chain ends without an error", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-chain2-'));
  assert.deepEqual(await earlierErasures(path.join(root, 'model', 'model.json')), []);
  const other = path.join(root, 'other', 'model.json');
  fs.mkdirSync(path.dirname(other));
  fs.writeFileSync(path.join(root, 'other', 'run.json'), '{ not json');
  assert.deepEqual(await earlierErasures(other), []);
  fs.writeFileSync(path.join(root, 'other', 'run.json'), JSON.stringify({ epochs: 30, optimizer: 'adam' }));
  assert.deepEqual(await earlierErasures(other), []);
  // A run.json that names its own model as its start (hand-edited): visited once.
  const self = path.join(root, 'model.versions', 'loop', 'model.json');
  version(root, 'loop', self, ['x.png'], [2], [2]);
  assert.deepEqual(await earlierErasures(self), [{ id: path.join(root, 'x.png'), label: 2 }]);
});

test('a damaged run record in the chain is refused with a message naming it', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-chain3-'));
  const v1 = version(root, 'r1', path.join(root, 'model', 'model.json'), ['a.png'], [0], [1]);
  const file = path.join(path.dirname(v1), 'run.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  delete json.forget.labels;
  fs.writeFileSync(file, JSON.stringify(json));
  await assert.rejects(
    earlierErasures(v1),
    (e: Error) => e instanceof UserInputError && e.message.includes(file) && /forget\.labels is not a list of whole numbers/.test(e.message),
  );
});
