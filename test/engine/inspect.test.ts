// The views' questions to a model (src/engine/jobs/inspect.ts): predictions per image and the
// pre-flight estimate, with unreadable images left out by position, nothing written, no leak.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classFolderFixture } from './helpers';
import { initBackend } from '../../src/engine/runtime/backend';
import { runPredict, runPreflight } from '../../src/engine/jobs/inspect';
import { loadModel } from '../../src/engine/data/modelIo';
import { readImage } from '../../src/engine/data/imageFolder';
import { predictClasses } from '../../src/engine/core/modelState';
import { tf } from '../../src/engine/core/tf';

const backend = { choice: 'cpu' as const, searchPaths: [] };

test('predictions per file, as the model gives them; an unreadable image gets null in its place', async () => {
  await initBackend({ choice: 'cpu' });
  const { dir, model, files } = await classFolderFixture('unlearn-inspect-');
  const broken = path.join(dir, 'data', 'train', 'a', 'broken.png');
  fs.writeFileSync(broken, 'not an image');
  const tensorsBefore = tf.memory().numTensors;
  const { predictions } = await runPredict({ kind: 'predict', backend, modelPath: model, files: [files[0], broken, ...files.slice(1)], resize: 'none' });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
  const loaded = await loadModel(model);
  const images = new Float32Array(files.length * 64);
  for (let i = 0; i < files.length; i++) images.set(await readImage(files[i], { imageShape: [8, 8, 1], resize: 'none' }), i * 64);
  const direct = Array.from(await predictClasses(loaded.model, images, [8, 8, 1]));
  loaded.model.dispose();
  assert.deepEqual(predictions, [direct[0], null, ...direct.slice(1)]);
});

test('the pre-flight estimate: a verdict and a chance per instance, from held-out data when given; the model is not changed', async () => {
  await initBackend({ choice: 'cpu' });
  const { dir, model, files } = await classFolderFixture('unlearn-preflight-');
  const modelBytes = fs.readFileSync(model);
  // Held-out data: the same class folders under test/.
  for (const f of files) {
    const to = f.replace(`${path.sep}train${path.sep}`, `${path.sep}test${path.sep}`);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(f, to);
  }
  const instances = [
    { file: files[2], label: 1 },
    { file: path.join(dir, 'missing.png'), label: 0 },
  ];
  const alone = await runPreflight({ kind: 'preflight', backend, modelPath: model, instances, resize: 'none' });
  assert.equal(alone.heldOutSource, 'shifted copies of the instances');
  assert.deepEqual(alone.instances[1], { file: instances[1].file, verdict: null, stillCorrect: null });
  const first = alone.instances[0];
  assert.ok(first.verdict === 'typical' || first.verdict === 'memorised');
  assert.ok(first.stillCorrect! >= 0 && first.stillCorrect! <= 1);
  assert.equal(first.verdict, first.stillCorrect! >= 0.5 ? 'typical' : 'memorised');
  const withData = await runPreflight({
    kind: 'preflight',
    backend,
    modelPath: model,
    instances,
    members: files.map((file, i) => ({ file, label: Math.floor(i / 2) })),
    testData: path.join(dir, 'data', 'test'),
    resize: 'none',
  });
  assert.equal(withData.heldOutSource, 'held-out data');
  assert.ok(withData.instances[0].verdict !== null);
  assert.deepEqual(fs.readFileSync(model), modelBytes);
});
