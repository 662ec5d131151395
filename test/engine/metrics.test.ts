import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../../src/engine/runtime/backend';
import { layerChanges, perUnitMean } from '../../src/engine/core/metrics';
import { useBackend } from './helpers';

before(useBackend);

test('layer changes give the norm of each tensor and of each output unit (the last axis)', async () => {
  const kernelBefore = tf.zeros([2, 3]);
  const kernelAfter = tf.tensor2d([
    [3, 0, 0],
    [4, 1, 0],
  ]);
  const biasBefore = tf.tensor1d([1, 1]);
  const biasAfter = tf.tensor1d([-1, 2]);
  const n0 = tf.memory().numTensors;
  const changes = await layerChanges(['dense/kernel', 'dense/bias'], [kernelBefore, biasBefore], [kernelAfter, biasAfter]);
  assert.equal(tf.memory().numTensors, n0, 'layerChanges leaves no tensor behind');
  assert.equal(changes[0].name, 'dense/kernel');
  assert.ok(Math.abs(changes[0].delta - Math.sqrt(26)) < 1e-5);
  assert.equal(changes[0].relative, 0, 'theta0 = 0 gives relative 0, not a division by zero');
  assert.deepEqual(changes[0].units, [5, 1, 0]);
  assert.deepEqual(changes[1].units, [2, 1]);
  assert.ok(Math.abs(changes[1].relative - Math.sqrt(5) / Math.sqrt(2)) < 1e-5);
  assert.equal(changes[0].importance, undefined);
  const withImportance = await layerChanges(
    ['dense/kernel', 'dense/bias'],
    [kernelBefore, biasBefore],
    [kernelAfter, biasAfter],
    [
      [0, 0.5, 1],
      [1, 0],
    ],
  );
  assert.deepEqual(
    withImportance.map((c) => c.importance),
    [
      [0, 0.5, 1],
      [1, 0],
    ],
  );
  tf.dispose([kernelBefore, kernelAfter, biasBefore, biasAfter]);
});

test('per-unit means average every axis but the last, to 4 significant digits', async () => {
  const conv = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]); // 4 positions x 2 units: unit 0 = 1,3,5,7; unit 1 = 2,4,6,8
  const bias = tf.tensor1d([0.123456, -2]);
  const n0 = tf.memory().numTensors;
  assert.deepEqual(await perUnitMean([conv, bias]), [
    [4, 5],
    [0.1235, -2],
  ]);
  assert.equal(tf.memory().numTensors, n0);
  tf.dispose([conv, bias]);
});
