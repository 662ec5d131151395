import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { candidatePaths, findModelCalls, namesModel, rewriteModelPath } from '../../src/shared/modelPaths';

test('finds the path literal of loads and saves, with its columns', () => {
  const line = "const model = await tf.loadLayersModel('file://models/fmnist-cnn16/model.json');";
  const [call] = findModelCalls(line);
  assert.equal(call.kind, 'load');
  assert.equal(call.call, 'loadLayersModel');
  assert.equal(call.prefix, 'file://');
  assert.equal(call.path, 'models/fmnist-cnn16/model.json');
  assert.equal(line.slice(call.start, call.end), 'file://models/fmnist-cnn16/model.json');
  const py = findModelCalls('model = load_model("models/fmnist-cnn16")  # and model.save(\'out/m\')');
  assert.deepEqual(
    py.map((c) => [c.kind, c.call, c.path, c.prefix]),
    [
      ['load', 'load_model', 'models/fmnist-cnn16', ''],
      ['save', 'save', 'out/m', ''],
    ],
  );
  const save = findModelCalls('await model.save( `file:///abs/out` );')[0];
  assert.deepEqual([save.kind, save.path, save.prefix], ['save', '/abs/out', 'file://']);
});

test('what is not a file path is left alone: variables, template expressions, other URL schemes', () => {
  assert.deepEqual(findModelCalls('tf.loadLayersModel(url)'), []);
  assert.deepEqual(findModelCalls('tf.loadLayersModel(`file://${dir}/model.json`)'), []);
  assert.deepEqual(findModelCalls("model.save('indexeddb://my-model')"), []);
  assert.deepEqual(findModelCalls("tf.loadLayersModel('https://example.com/model.json')"), []);
  assert.deepEqual(findModelCalls('const saved = true;'), []);
});

test("a relative path resolves against the workspace root, then the code's folder; an absolute one as it is", () => {
  const root = path.resolve('/ws');
  assert.deepEqual(candidatePaths('models/m/model.json', path.join(root, 'src'), root), [
    { file: path.join(root, 'models', 'm', 'model.json'), base: root },
    { file: path.join(root, 'src', 'models', 'm', 'model.json'), base: path.join(root, 'src') },
  ]);
  assert.deepEqual(candidatePaths(path.join(root, 'x', 'model.json'), root, root), [{ file: path.join(root, 'x', 'model.json'), base: '' }]);
  assert.equal(candidatePaths('m.json', root, root).length, 1, 'the same base once');
});

test('a load names a model by its model.json or its folder', () => {
  const json = path.resolve('/ws/models/m/model.json');
  assert.ok(namesModel(path.resolve('/ws/models/m/model.json'), json));
  assert.ok(namesModel(path.resolve('/ws/models/m'), json));
  assert.ok(!namesModel(path.resolve('/ws/models/m.versions/r1/model.json'), json));
});

test('the path rewritten to the active version, written like the original', () => {
  const root = path.resolve('/ws');
  const version = path.join(root, 'models', 'm.versions', '2026-12-02T10-00-00-000-adv-imp', 'model.json');
  const original = path.join(root, 'models', 'm', 'model.json');
  assert.equal(
    rewriteModelPath({ path: 'models/m/model.json', prefix: 'file://' }, original, root, version),
    'file://models/m.versions/2026-12-02T10-00-00-000-adv-imp/model.json',
  );
  assert.equal(
    rewriteModelPath({ path: './models/m/model.json', prefix: '' }, original, root, version),
    './models/m.versions/2026-12-02T10-00-00-000-adv-imp/model.json',
  );
  // Relative to the code's folder when that is where it resolved.
  assert.equal(
    rewriteModelPath({ path: '../models/m/model.json', prefix: 'file://' }, original, path.join(root, 'src'), version),
    'file://../models/m.versions/2026-12-02T10-00-00-000-adv-imp/model.json',
  );
  // A folder stays a folder; an absolute path stays absolute.
  assert.equal(rewriteModelPath({ path: 'models/m', prefix: '' }, path.dirname(original), root, version), 'models/m.versions/2026-12-02T10-00-00-000-adv-imp');
  assert.equal(rewriteModelPath({ path: original, prefix: 'file://' }, original, '', version), `file://${version.split(path.sep).join('/')}`);
});
