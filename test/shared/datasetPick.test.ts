import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { heldOutChoices, isHeldOutFolder, trainingChoices } from '../../src/shared/datasetPick';

const root = path.resolve('/ws');
const found = [root, path.join(root, 'data', 'odd'), path.join(root, 'data', 'test'), path.join(root, 'data', 'train'), path.join(root, 'data', 'train.csv')];

test('training data is never the workspace root nor a held-out folder', () => {
  assert.deepEqual(trainingChoices(found, [root]), [path.join(root, 'data', 'odd'), path.join(root, 'data', 'train'), path.join(root, 'data', 'train.csv')]);
  assert.ok(isHeldOutFolder('/x/t10k') && isHeldOutFolder('/x/Validation') && !isHeldOutFolder('/x/test.csv') && !isHeldOutFolder('/x/train'));
});

test('held-out data: held-out folders first, never the training folder or the root; a manifest may serve both', () => {
  assert.deepEqual(heldOutChoices(found, [root], path.join(root, 'data', 'train')), [
    path.join(root, 'data', 'test'),
    path.join(root, 'data', 'odd'),
    path.join(root, 'data', 'train.csv'),
  ]);
  assert.deepEqual(heldOutChoices(found, [root], path.join(root, 'data', 'train.csv'))[0], path.join(root, 'data', 'test'));
  assert.ok(heldOutChoices(found, [root], path.join(root, 'data', 'train.csv')).includes(path.join(root, 'data', 'train.csv')));
});
