import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { earlierErasures } from '../../src/engine/continual';

/** A version folder with a run.json that started from `from` and erased `ids`. */
function version(root: string, id: string, from: string, ids: string[], labels: number[], after: number[]): string {
  const dir = path.join(root, 'model.versions', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ id, model: { path: from }, forget: { ids, labels, predictedAfter: after } }));
  return path.join(dir, 'model.json');
}

test('earlier erasures follow the chain of versions, newest run first, each instance once', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-chain-'));
  const original = path.join(root, 'model', 'model.json');
  const v1 = version(root, 'r1', original, ['a.png', 'b.png'], [0, 1], [2, 1]);
  const v2 = version(root, 'r2', v1, ['b.png', 'c.png'], [1, 2], [0, 0]);
  return earlierErasures(v2).then((erased) => {
    assert.deepEqual(erased, [
      { id: 'b.png', label: 1 },
      { id: 'c.png', label: 2 },
      { id: 'a.png', label: 0 },
    ]);
  });
});

test('the original model has no earlier erasures; a broken or cyclic chain ends without an error', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-chain2-'));
  assert.deepEqual(await earlierErasures(path.join(root, 'model', 'model.json')), []);
  const broken = path.join(root, 'broken', 'model.json');
  fs.mkdirSync(path.dirname(broken));
  fs.writeFileSync(path.join(root, 'broken', 'run.json'), '{ not json');
  assert.deepEqual(await earlierErasures(broken), []);
  // A run.json that names its own model as its start (hand-edited): visited once.
  const self = path.join(root, 'model.versions', 'loop', 'model.json');
  version(root, 'loop', self, ['x.png'], [3], [3]);
  assert.deepEqual(await earlierErasures(self), [{ id: 'x.png', label: 3 }]);
});
