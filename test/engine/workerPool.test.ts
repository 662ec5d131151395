/**
 * The warm pool of compute threads: a second request reuses the threads the first started (no
 * start-up), gives the same adversarial set, and a cancelled request's threads are replaced.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { Rng } from '../../src/engine/core/rng';
import { targetedL2Pgd } from '../../src/engine/core/attack';
import { parallelTargetedL2Pgd } from '../../src/engine/runtime/attackPool';
import { activeBackend } from '../../src/engine/runtime/backend';
import { closeComputePool, computePool } from '../../src/engine/runtime/workerPool';
import { DEFAULT_ATTACK } from '../../src/contracts/options';
import { CancelledError } from '../../src/contracts/errors';
import { randomForgetSet, tinyModel, useBackend } from './helpers';

before(useBackend);
after(closeComputePool);

const forget = randomForgetSet(3);
const input = { images: forget.images, labels: forget.labels, imageShape: forget.imageShape, numClasses: forget.numClasses, examplesPerInstance: 4 };
const options = { ...DEFAULT_ATTACK, steps: 6, epsilon: 1.5, chunkSize: 5 };

function pool() {
  const b = activeBackend()!;
  return computePool(b.choice, b.searchPaths);
}

test('a second pooled attack starts no thread and gives the same images as the first and as one thread', async () => {
  await closeComputePool();
  const model = tinyModel();
  const first = await parallelTargetedL2Pgd(model, input, options, new Rng(4), 2);
  assert.equal(pool().threadsStarted, 2);
  assert.equal(pool().size, 2, 'the threads stay warm after the request');
  const second = await parallelTargetedL2Pgd(model, input, options, new Rng(4), 2);
  assert.equal(pool().threadsStarted, 2, 'the second request started threads of its own');
  const one = await targetedL2Pgd(model, input, options, new Rng(4));
  assert.deepEqual(Array.from(second.images), Array.from(first.images));
  assert.deepEqual(Array.from(second.predicted), Array.from(one.predicted));
  const maxDiff = second.images.reduce((m, v, i) => Math.max(m, Math.abs(v - one.images[i])), 0);
  assert.ok(maxDiff < 1e-6, `the pool changed the result by ${maxDiff}`);
});

test('a cancelled attack terminates its threads; the next one starts fresh threads and succeeds', async () => {
  const model = tinyModel();
  const started = pool().threadsStarted;
  const controller = new AbortController();
  const run = parallelTargetedL2Pgd(model, input, { ...options, steps: 100000 }, new Rng(4), 2, controller.signal, (p) => {
    if (p.step >= 2) controller.abort();
  });
  await assert.rejects(run, CancelledError);
  assert.equal(pool().size, 0, "a cancelled task's thread was kept");
  const again = await parallelTargetedL2Pgd(model, input, options, new Rng(4), 2);
  assert.equal(pool().threadsStarted, started + 2);
  const one = await targetedL2Pgd(model, input, options, new Rng(4));
  assert.deepEqual(Array.from(again.predicted), Array.from(one.predicted));
});
