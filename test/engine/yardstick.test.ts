import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from '../../src/engine/runtime/backend';
import { agreement, membershipAuc, membershipNullBand, rocAuc, yardstickRow, type ModelReading } from '../../src/engine/jobs/yardstick';
import { readSplit } from '../../src/engine/core/metrics';
import { empiricalRank, quantile, shiftedCopies, unseenLoss, unseenTargets, UNSEEN_PATIENCE, UNSEEN_TOLERANCE } from '../../src/engine/core/unseen';
import { unlearn } from '../../src/engine/core/unlearn';
import { resolveOptions } from '../../src/contracts/options';
import { predictClasses } from '../../src/engine/core/modelState';
import { perSampleLosses } from '../../src/engine/core/audit';
import { assertNoLeak, randomForgetSet, tinyModel, useBackend } from './helpers';

before(useBackend);

test('membership AUC: lower member losses read as memorised, equal as 0.5, higher as overshot', () => {
  assert.equal(membershipAuc([0.1, 0.2], [1, 2, 3]), 1);
  assert.equal(membershipAuc([5, 6], [1, 2, 3]), 0);
  assert.equal(membershipAuc([1, 1], [1, 1]), 0.5);
  // One member below both non-members, one between them: (2 + 1) / 4 pairs.
  assert.equal(membershipAuc([0.5, 1.5], [1, 2]), 0.75);
  // Same as counting pairs by hand on random data.
  const m = [0.3, 0.9, 0.05, 2.2, 0.9];
  const n = [0.4, 0.9, 1.5, 0.01, 3, 0.2];
  let pairs = 0;
  for (const a of m) for (const b of n) pairs += a < b ? 1 : a === b ? 0.5 : 0;
  assert.ok(Math.abs(membershipAuc(m, n) - pairs / (m.length * n.length)) < 1e-12);
});

test('the null band of random held-out draws straddles 0.5 and narrows with k', () => {
  const losses = Array.from({ length: 2000 }, (_, i) => Math.abs(Math.sin(i * 12.9898) * 43758.5453) % 1);
  const [lo16, hi16] = membershipNullBand(losses, 16, 0);
  const [lo128, hi128] = membershipNullBand(losses, 128, 0);
  assert.ok(lo16 < 0.5 && hi16 > 0.5, `${lo16}..${hi16}`);
  assert.ok(hi128 - lo128 < hi16 - lo16, 'more instances, a narrower band');
});

test('rocAuc ranks scores; undefined without both kinds', () => {
  assert.equal(rocAuc([3, 2, 1], [true, true, false]), 1);
  assert.equal(rocAuc([1, 2, 3], [true, true, false]), 0);
  assert.equal(rocAuc([1, 2], [true, true]), undefined);
});

test('agreement and yardstick rows compare predictions position by position', () => {
  assert.equal(agreement(Int32Array.from([1, 2, 3, 4]), Int32Array.from([1, 2, 0, 4])), 0.75);
  assert.throws(() => agreement(Int32Array.from([1]), Int32Array.from([1, 2])), RangeError);
  const reading = (test: number[], forget: number[]): ModelReading => ({
    forget: 0.5,
    retain: 0.9,
    test: 0.8,
    membershipAuc: 0.6,
    testPredictions: Int32Array.from(test),
    forgetPredictions: Int32Array.from(forget),
    testLosses: new Float32Array(test.length),
    forgetLosses: new Float32Array(forget.length),
  });
  const row = yardstickRow('x', reading([0, 1, 2, 3], [1, 1]), reading([0, 1, 2, 2], [1, 0]));
  assert.equal(row.agreementWithRetrained, 0.75);
  assert.equal(row.forgetAgreementWithRetrained, 0.5);
});

test('readSplit gives the same predictions and losses as predictClasses and perSampleLosses', async () => {
  const model = tinyModel();
  const data = randomForgetSet(37);
  const reading = await readSplit(model, data, 16);
  assert.deepEqual(reading.predictions, await predictClasses(model, data.images, data.imageShape));
  const losses = await perSampleLosses(model, data.images, data.labels, data.imageShape);
  reading.losses.forEach((l, i) => assert.ok(Math.abs(l - losses[i]) < 1e-5, `loss ${i}`));
  await assertNoLeak(() => readSplit(model, data, 16), assert.equal);
  model.dispose();
});

test('ranks and quantiles', () => {
  const sorted = [1, 2, 3, 4];
  assert.equal(empiricalRank(sorted, 0), 0);
  assert.equal(empiricalRank(sorted, 2), 0.375);
  assert.equal(empiricalRank(sorted, 9), 1);
  assert.equal(quantile(sorted, 0), 1);
  assert.equal(quantile(sorted, 1), 4);
  assert.equal(quantile(sorted, 0.5), 2.5);
});

test('shifted copies move the image one pixel in each of 8 directions, zero fill', () => {
  // 3x3 image with a single bright centre pixel: each copy has it at a neighbour.
  const img = new Float32Array(9);
  img[4] = 1;
  const out = shiftedCopies(img, 1, [3, 3, 1]);
  assert.equal(out.length, 72);
  const positions = Array.from({ length: 8 }, (_, s) => Array.from(out.subarray(s * 9, s * 9 + 9)).indexOf(1));
  assert.deepEqual(positions.sort(), [0, 1, 2, 3, 5, 6, 7, 8]);
  for (let s = 0; s < 8; s++)
    assert.equal(
      out.subarray(s * 9, s * 9 + 9).reduce((a, b) => a + b, 0),
      1,
    );
});

test('unseenLoss is the gap below the target, zero at or above it', () => {
  const value = tf.tidy(() => unseenLoss(tf.tensor1d([0.01, 2]), tf.tensor1d([0.1, 1])).dataSync()[0]);
  const expected = (0.1 - 0.01) / 2;
  assert.ok(Math.abs(value - expected) < 1e-4, `${value} vs ${expected}`);
  const grad = tf.tidy(() =>
    Array.from(
      tf
        .grad((ce: tfTypes.Tensor) => unseenLoss(ce, tf.tensor1d([0.1, 1])))(tf.tensor1d([0.01, 2]))
        .dataSync(),
    ),
  );
  assert.ok(grad[0] < 0, 'below target: raising the loss lowers the objective');
  assert.ok(grad[1] === 0, 'above target: no push');
});

test('targets: quantile matching raises losses to held-out levels, never lowers them, and sorts typical from memorised', async () => {
  const model = tinyModel();
  const forget = randomForgetSet(6, 5);
  const members = randomForgetSet(60, 6);
  const heldOut = randomForgetSet(60, 7);
  // Members are fitted (their labels are the model's predictions); held-out data gets another class.
  members.labels = await predictClasses(model, members.images, members.imageShape);
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  heldOut.labels = (await predictClasses(model, heldOut.images, heldOut.imageShape)).map((p) => (p + 1) % 3);
  const result = await unseenTargets(model, forget, { members, heldOut });
  assert.equal(result.heldOutSource, 'held-out data');
  const own = await perSampleLosses(model, forget.images, forget.labels, forget.imageShape);
  result.instances.forEach((e, i) => {
    assert.ok(Math.abs(e.loss - own[i]) < 1e-5);
    assert.ok(e.targetLoss >= e.loss, 'targets never lower a loss');
    assert.ok(e.rank >= 0 && e.rank <= 1);
    assert.ok(e.stillCorrect >= 0 && e.stillCorrect <= 1);
    assert.equal(e.verdict, e.stillCorrect >= 0.5 ? 'typical' : 'memorised');
  });
  // Held-out losses (wrong labels) are far higher than fitted members': targets rise, and a model
  // that gets such held-out data wrong would get the instances wrong too.
  assert.ok(result.instances.every((e) => e.targetLoss > 1.5 * e.loss));
  assert.ok(result.instances.every((e) => e.verdict === 'memorised'));
  const alone = await unseenTargets(model, forget);
  assert.equal(alone.heldOutSource, 'shifted copies of the instances');
  alone.instances.forEach((e) => assert.ok(e.targetLoss >= e.loss && e.rank === 0.5));
  await assertNoLeak(() => unseenTargets(model, forget, { members, heldOut }), assert.equal);
  model.dispose();
});

test('ranks: an image fitted only at its exact pixels ranks as hard as its shifted copies make it; a typical one does not', async () => {
  // Class 0's logit is 4 × the centre pixel (class 1's is 0): the loss of class 0 falls as the centre brightens.
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [3, 3, 1] }), tf.layers.dense({ units: 2, useBias: false })] });
  const w = new Float32Array(18);
  w[4 * 2] = 4;
  model.setWeights([tf.tensor2d(w, [9, 2])]);
  const uniform = (b: number) => new Array(9).fill(b);
  // 30 members of class 0: uniform images from 0.2 to 0.78 (their shifted copies keep the centre).
  const memberImages = Array.from({ length: 30 }, (_, i) => uniform(0.2 + 0.02 * i)).flat();
  const members = { images: Float32Array.from(memberImages), labels: new Int32Array(30), imageShape: [3, 3, 1] as [number, number, number] };
  // Bright only at the centre (memorised: every shift moves the centre away), and uniformly bright (typical).
  const spot = [0, 0, 0, 0, 1, 0, 0, 0, 0];
  const forget = { images: Float32Array.from([...spot, ...uniform(1)]), labels: new Int32Array(2), imageShape: [3, 3, 1] as [number, number, number] };
  // Held-out data of class 0 like the members (all classified right: the class's held-out accuracy is 1).
  const heldOut = {
    images: Float32Array.from(Array.from({ length: 30 }, (_, i) => uniform(0.21 + 0.02 * i)).flat()),
    labels: new Int32Array(30),
    imageShape: [3, 3, 1] as [number, number, number],
  };
  const result = await unseenTargets(model, forget, { members, heldOut });
  const [memorised, typical] = result.instances;
  // Both fit better than every member (rank 0 by loss); shifted, the spot has the highest loss of all
  // (rank 1), the uniform image still the lowest (rank 0). The estimate reads the mean of the two
  // ranks (the score is the class's held-out accuracy minus it); the target keeps the loss rank.
  assert.ok(Math.abs(memorised.loss - typical.loss) < 1e-6, 'the same loss at the exact pixels');
  assert.deepEqual([memorised.rank, memorised.shiftedRank, typical.rank, typical.shiftedRank], [0, 1, 0, 0]);
  assert.ok(Math.abs(typical.score - 1) < 1e-6 && Math.abs(memorised.score - 0.5) < 1e-6, `scores ${typical.score} and ${memorised.score}`);
  // Equal loss ranks, equal targets: the lowest held-out loss of the class, above their own.
  assert.ok(memorised.targetLoss === typical.targetLoss && typical.targetLoss > typical.loss, `targets ${memorised.targetLoss}, ${typical.targetLoss}`);
  // A run reads only the targets: the same targets, the shifted ranks not read.
  const targetsOnly = await unseenTargets(model, forget, { members, heldOut }, false);
  assert.deepEqual(
    targetsOnly.instances.map((e) => [e.targetLoss, e.shiftedRank]),
    result.instances.map((e) => [e.targetLoss, e.rank]),
  );
  await assertNoLeak(() => unseenTargets(model, forget, { members, heldOut }), assert.equal);
  model.dispose();
});

test('"as if never seen" raises each loss to its target and stops there, without a leak', async () => {
  const forget = randomForgetSet(4);
  const heldOut = randomForgetSet(40, 9);
  const run = async () => {
    const model = tinyModel();
    forget.labels = await predictClasses(model, forget.images, forget.imageShape);
    const options = resolveOptions({ method: 'naive', learningRate: 0.05, maxEpochs: 300 }, 'unseen');
    assert.equal(options.objective.kind, 'unseen');
    const result = await unlearn(model, forget, options, { unseenReference: { heldOut } });
    assert.equal(result.stopped, 'forgotten');
    assert.equal(result.remembered, 0);
    const after = await perSampleLosses(model, forget.images, forget.labels, forget.imageShape);
    result.unseen!.instances.forEach((e, i) =>
      assert.ok(after[i] >= UNSEEN_TOLERANCE * e.targetLoss - 1e-6, `instance ${i}: ${after[i]} below ${e.targetLoss}`),
    );
    assert.ok(
      result.unseen!.instances.some((e) => e.targetLoss > e.loss * 1.01),
      'there was a loss to raise',
    );
    return model;
  };
  // The model itself is the caller's: count tensors around the run only.
  const first = await run();
  first.dispose();
  const model = tinyModel();
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  const options = resolveOptions({ method: 'naive', learningRate: 0.05, maxEpochs: 300 }, 'unseen');
  const before = tf.memory().numTensors;
  await unlearn(model, forget, options, { unseenReference: { heldOut } });
  assert.equal(tf.memory().numTensors, before, 'tensor count changed across a run (a leak)');
  model.dispose();
});

test('"as if never seen" settles once the instances short of their targets stop getting closer, and says so', async () => {
  const forget = randomForgetSet(4);
  const heldOut = randomForgetSet(40, 9);
  const model = tinyModel();
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  // A learning rate of 1e-12: nothing moves, so the shortfall never falls and the run settles after the patience.
  const frozen = resolveOptions({ method: 'naive', learningRate: 1e-12, maxEpochs: 1000 }, 'unseen');
  const still = await unlearn(model, forget, frozen, { unseenReference: { heldOut } });
  assert.ok(still.remembered > 0, 'instances were short of their targets');
  assert.equal(still.stopped, 'settled');
  assert.equal(still.steps, UNSEEN_PATIENCE);
  // A run that gets there stops as forgotten, before the patience could run out.
  const moving = await unlearn(model, forget, resolveOptions({ method: 'naive', learningRate: 0.05, maxEpochs: 1000 }, 'unseen'), {
    unseenReference: { heldOut },
  });
  assert.equal(moving.stopped, 'forgotten');
  // The paper's objective never settles: without targets it runs to the cap.
  const paper = await unlearn(tinyModel(), forget, resolveOptions({ method: 'naive', learningRate: 1e-12, maxEpochs: 120 }, 'paper'), {});
  assert.equal(paper.stopped, 'max-epochs');
  assert.equal(paper.steps, 120);
  model.dispose();
});

test('"as if never seen" refuses another forget term', () => {
  assert.throws(() => resolveOptions({ forgetTerm: 'margin' }, 'unseen'), /own forget term/);
});

test('the anchored preset misclassifies every instance and, with other data, keeps the predictions there closer than without the anchor', async () => {
  const options = resolveOptions({ method: 'naive', learningRate: 0.002, maxEpochs: 300 }, 'anchored');
  assert.equal(options.anchor, true);
  assert.equal(options.forgetTerm, 'nearest-ce');
  assert.equal(resolveOptions({}, 'paper').anchor, false);
  const forget = randomForgetSet(4);
  const other = randomForgetSet(64, 7);
  const kl = async (anchored: boolean): Promise<number> => {
    const model = tinyModel();
    forget.labels = await predictClasses(model, forget.images, forget.imageShape);
    const p0 = tf.tidy(() => tf.softmax(model.predict(tf.tensor4d(other.images, [64, ...other.imageShape])) as tfTypes.Tensor2D));
    const result = await unlearn(model, forget, { ...options, anchor: anchored }, { unseenReference: { anchor: other } });
    assert.equal(result.stopped, 'forgotten');
    assert.equal(result.remembered, 0);
    // At the pre-trained weights the anchor's gradient is zero: it acts only over several steps.
    assert.ok(result.steps >= 3, `took ${result.steps} steps`);
    const value = tf.tidy(() => {
      const logP = tf.logSoftmax(model.predict(tf.tensor4d(other.images, [64, ...other.imageShape])) as tfTypes.Tensor2D);
      return tf.mean(tf.sum(tf.mul(p0, tf.sub(tf.log(tf.add(p0, 1e-12)), logP)), 1));
    });
    const out = (await value.data())[0];
    tf.dispose([p0, value]);
    model.dispose();
    return out;
  };
  const free = await kl(false);
  const kept = await kl(true);
  assert.ok(kept < free, `the anchor should keep the other data's predictions: KL ${kept} with it vs ${free} without`);
});
