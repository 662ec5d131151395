/**
 * The attack as a whole: targets are never the true label, every example stays in the image box
 * and the L2 ball, the result does not depend on chunking or on the number of worker threads,
 * and cancelling stops the workers.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../../src/engine/runtime/backend';
import { Rng } from '../../src/engine/core/rng';
import { drawTarget, planAttack, targetedL2Pgd, uniformImageStart } from '../../src/engine/core/attack';
import { parallelTargetedL2Pgd } from '../../src/engine/runtime/attackPool';
import { DEFAULT_ATTACK, resolveOptions } from '../../src/contracts/options';
import { CancelledError } from '../../src/contracts/errors';
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

const l2 = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

test("the paper's start: uniform image minus x, onto the eps-sphere when farther than eps, inside the box", () => {
  const size = 64;
  for (let i = 0; i < forget.labels.length; i++) {
    const x = forget.images.subarray(i * size, (i + 1) * size);
    for (const radius of [0.5, 1.5, 100]) {
      const seed = 11 * i + radius;
      const delta = uniformImageStart(x, radius, new Rng(seed));
      // The uniform image the start was made from: the same draws again.
      const replay = new Rng(seed);
      const u = Array.from({ length: size }, () => replay.next());
      const far = l2(u.map((v, p) => v - x[p]));
      const scale = Math.min(1, radius / far);
      if (radius < 100) assert.ok(far > radius, `test set-up: the uniform image should be farther than ${radius} (it is ${far})`);
      // Far: exactly on the sphere (||delta|| = eps); near (eps 100): the uniform image itself.
      assert.ok(Math.abs(l2(delta) - Math.min(radius, far)) < 1e-5, `radius ${radius}: ||delta|| ${l2(delta)}, expected ${Math.min(radius, far)}`);
      for (let p = 0; p < size; p++) {
        assert.ok(Math.abs(delta[p] - scale * (u[p] - x[p])) < 1e-6, 'the start points from x toward the uniform image');
        const v = x[p] + delta[p];
        assert.ok(v >= -1e-6 && v <= 1 + 1e-6, `x + delta = ${v} leaves the box`);
      }
    }
  }
});

test('before any step the attack sits on the eps-sphere around each source, in [0, 1]; in-ball stays inside', async () => {
  const model = tinyModel();
  const size = 64;
  for (const randomStart of ['uniform-image', 'in-ball'] as const) {
    const set = await targetedL2Pgd(model, input, { ...options, steps: 0, randomStart }, new Rng(1));
    const norms = Array.from(set.targets, (_, e) => {
      const s = set.sources[e];
      for (let p = 0; p < size; p++) assert.ok(set.images[e * size + p] >= 0 && set.images[e * size + p] <= 1);
      return l2(Array.from({ length: size }, (_, p) => set.images[e * size + p] - forget.images[s * size + p]));
    });
    if (randomStart === 'uniform-image') norms.forEach((n, e) => assert.ok(Math.abs(n - options.epsilon) < 1e-4, `example ${e} starts ${n} away, not eps`));
    else {
      norms.forEach((n, e) => assert.ok(n <= options.epsilon + 1e-4, `example ${e} starts ${n} away`));
      assert.ok(
        norms.some((n) => n < options.epsilon - 0.05),
        'in-ball starts inside the ball, not on its sphere',
      );
    }
  }
});

test("the plan is repetition-major and each example's draws depend only on the seed and its place", () => {
  const plan = planAttack(input, options, new Rng(4));
  const k = forget.labels.length;
  assert.deepEqual(
    Array.from(plan.sources),
    Array.from({ length: k * 4 }, (_, e) => e % k),
  );
  // Drawing the same plan again gives the same numbers (workers get slices of it, never their own draws).
  const again = planAttack(input, options, new Rng(4));
  assert.deepEqual(again.targets, plan.targets);
  assert.deepEqual(again.starts, plan.starts);
  // Example e's draws come right after example e-1's: fewer rounds give a prefix of the same plan.
  const fewer = planAttack({ ...input, examplesPerInstance: 2 }, options, new Rng(4));
  assert.deepEqual(fewer.targets, plan.targets.subarray(0, 2 * k));
  assert.deepEqual(fewer.starts, plan.starts.subarray(0, 2 * k * 64));
});

test("random start and adversarial order are checked options, the paper's by default", () => {
  const o = resolveOptions();
  assert.equal(o.attack.randomStart, 'uniform-image');
  assert.equal(o.adversarialOrder, 'fixed');
  assert.equal(resolveOptions({}, 'bounded').attack.randomStart, 'uniform-image');
  assert.throws(() => resolveOptions({ attack: { randomStart: 'sphere' as never } }), /randomStart must be one of uniform-image, in-ball/);
  assert.throws(() => resolveOptions({ adversarialOrder: 'random' as never }), /adversarialOrder must be one of fixed, shuffled/);
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
  assert.equal(options.randomStart, 'uniform-image');
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
