// The model inspector's figures (src/engine/jobs/modelInspector.ts): layers, shapes, parameter
// counts and weight statistics as the model has them; importance of chosen images; nothing written.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { classFolderFixture } from './helpers';
import { initBackend } from '../../src/engine/runtime/backend';
import { imageImportance, inspectModel, statsFromArtifacts, weightStats } from '../../src/engine/jobs/modelInspector';
import { loadModel, readModelArtifacts } from '../../src/engine/data/modelIo';
import { tf } from '../../src/engine/core/tf';

test('weight statistics: mean, population std, min, max, share of exact zeros', () => {
  const s = weightStats(new Float32Array([0, 0, 1, 3]));
  assert.deepEqual(s, { count: 4, mean: 1, std: Math.sqrt((1 + 1 + 0 + 4) / 4), min: 0, max: 3, zeros: 0.5 });
  assert.deepEqual(weightStats([]), { count: 0, mean: 0, std: 0, min: 0, max: 0, zeros: 0 });
  assert.equal(weightStats([-2, 2]).std, 2);
});

test('a model summary: every layer with its output shape and parameters, statistics of every weight, the contract', async () => {
  await initBackend({ choice: 'cpu' });
  const { model } = await classFolderFixture('unlearn-inspector-');
  const bytes = fs.readFileSync(model);
  const tensorsBefore = tf.memory().numTensors;
  const summary = await inspectModel(model);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
  const loaded = await loadModel(model);
  try {
    const m = loaded.model;
    assert.deepEqual(summary.inputShape, [8, 8, 1]);
    assert.deepEqual(summary.outputShape, [3]);
    assert.equal(summary.parameters, m.countParams());
    assert.equal(
      summary.layers.reduce((n, l) => n + l.parameters, 0),
      m.countParams(),
    );
    assert.equal(summary.layers.length, m.layers.length);
    assert.deepEqual(
      summary.layers.map((l) => l.name),
      m.layers.map((l) => l.name),
    );
    assert.deepEqual(summary.layers[summary.layers.length - 1].outputShape, [3]);
    // One weight's statistics against a direct computation.
    const w = m.weights[0];
    const values = Array.from(await w.read().data());
    const reported = summary.layers.flatMap((l) => l.weights).find((x) => x.name === w.originalName)!;
    assert.equal(reported.stats.count, values.length);
    assert.ok(Math.abs(reported.stats.mean - values.reduce((a, b) => a + b, 0) / values.length) < 1e-6);
    assert.equal(reported.stats.max, Math.max(...values));
    assert.equal(reported.stats.min, Math.min(...values));
    // Read from the bytes on disk (no tensor read-back): one entry per weight, the same figures.
    const onDisk = statsFromArtifacts(await readModelArtifacts(model))!;
    assert.deepEqual([...onDisk.keys()].sort(), m.weights.map((x) => x.originalName).sort());
    assert.deepEqual(onDisk.get(w.originalName), reported.stats);
    assert.equal(
      statsFromArtifacts({
        ...(await readModelArtifacts(model)),
        weightSpecs: [{ name: 'q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: 0 } }],
      }),
      undefined,
      'quantized: read from the model instead',
    );
    assert.equal(summary.contract.ok, true);
    assert.match(summary.contract.ok ? summary.contract.text : '', /input 8×8×1/);
  } finally {
    loaded.model.dispose();
  }
  assert.deepEqual(fs.readFileSync(model), bytes, 'the model is only read');
});

test('importance of chosen images: one row per trainable weight, one value in [0, 1] per unit; an unreadable image is an error naming it', async () => {
  await initBackend({ choice: 'cpu' });
  const { dir, model, files } = await classFolderFixture('unlearn-inspector-imp-');
  const tensorsBefore = tf.memory().numTensors;
  const r = await imageImportance(model, files.slice(0, 2), 'none');
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
  const loaded = await loadModel(model);
  try {
    assert.deepEqual(
      r.tensors.map((t) => t.name),
      loaded.model.trainableWeights.map((w) => w.originalName),
    );
    loaded.model.trainableWeights.forEach((w, i) => assert.equal(r.tensors[i].units.length, w.shape[w.shape.length - 1]));
  } finally {
    loaded.model.dispose();
  }
  for (const t of r.tensors) for (const v of t.units) assert.ok(v >= 0 && v <= 1, `${t.name}: ${v}`);
  assert.ok(
    r.tensors.some((t) => t.units.some((v) => v > 0)),
    'the images rely on something',
  );
  assert.equal(r.predicted.length, 2);
  await assert.rejects(imageImportance(model, [`${dir}/missing.png`], 'none'), /missing\.png/);
  await assert.rejects(imageImportance(model, [], 'none'), /Choose at least one image/);
});
