/**
 * The attack as a whole: targets are never the true label, every example stays in the image box
 * and the L2 ball, the result does not depend on chunking or on the number of worker threads,
 * and cancelling stops the workers.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../../src/engine/backend';
import { Rng } from '../../src/engine/rng';
import { drawTarget, targetedL2Pgd } from '../../src/engine/attack';
import { parallelTargetedL2Pgd } from '../../src/engine/attackPool';
import { DEFAULT_ATTACK } from '../../src/engine/options';
import { CancelledError } from '../../src/engine/errors';
import { randomForgetSet, tinyModel, useBackend } from './helpers';

before(useBackend);

const forget = randomForgetSet(3);
const input = { images: forget.images, labels: forget.labels, imageShape: forget.imageShape, numClasses: forget.numClasses, examplesPerInstance: 4 };
const options = { ...DEFAULT_ATTACK, steps: 8, epsilon: 1.5, chunkSize: 5 };

test('targets are uniform over the other classes, never the label', () => {
  const rng = new Rng(9);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 9000; i++) counts[drawTarget(3, 10, rng)]++;
  assert.equal(counts[3], 0);
  for (const [c, n] of counts.entries()) if (c !== 3) assert.ok(n > 850 && n < 1150, `class ${c} drawn ${n} times`);
});

test('adversarial examples stay in [0, 1] and within eps of their source', async () => {
  const model = tinyModel();
  const set = await targetedL2Pgd(model, input, options, new Rng(1));
  const size = 64;
  assert.equal(set.targets.length, 12);
  for (let e = 0; e < 12; e++) {
    assert.notEqual(set.targets[e], forget.labels[set.sources[e]]);
    let norm = 0;
    for (let p = 0; p < size; p++) {
      const v = set.images[e * size + p];
      assert.ok(v >= 0 && v <= 1);
      norm += (v - forget.images[set.sources[e] * size + p]) ** 2;
    }
    assert.ok(Math.sqrt(norm) <= options.epsilon + 1e-4, `example ${e} is ${Math.sqrt(norm)} away`);
  }
});

test('the adversarial set is the same whatever the chunk size or number of worker threads', async () => {
  const model = tinyModel();
  const one = await targetedL2Pgd(model, input, options, new Rng(1));
  const rechunked = await targetedL2Pgd(model, input, { ...options, chunkSize: 512 }, new Rng(1));
  const pooled = await parallelTargetedL2Pgd(model, input, options, new Rng(1), 2);
  assert.deepEqual(rechunked.targets, one.targets);
  assert.deepEqual(pooled.targets, one.targets);
  assert.deepEqual(pooled.predicted, one.predicted);
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(maxDiff(rechunked.images, one.images) < 1e-6, `chunking changed the result by ${maxDiff(rechunked.images, one.images)}`);
  assert.ok(maxDiff(pooled.images, one.images) < 1e-6, `workers changed the result by ${maxDiff(pooled.images, one.images)}`);
});

test('cancelling a pooled attack stops its workers and leaks nothing', async () => {
  const model = tinyModel();
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const run = parallelTargetedL2Pgd(model, input, { ...options, steps: 100000 }, new Rng(1), 2, controller.signal, (p) => {
    if (p.step >= 2) controller.abort();
  });
  await assert.rejects(run, CancelledError);
  assert.equal(tf.memory().numTensors, before);
});
