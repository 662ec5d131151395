import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../../src/engine/runtime/backend';
import { fitLogistic, membershipAudit, perSampleLosses } from '../../src/engine/core/audit';
import { crossEntropy } from '../../src/engine/core/objectives';
import { logits } from '../../src/engine/core/modelState';
import { Rng } from '../../src/engine/core/rng';
import { randomForgetSet, tinyModel, useBackend } from './helpers';

before(useBackend);

test('the logistic fit is a stationary point of its penalised log-likelihood', () => {
  const rng = new Rng(3);
  const x = Array.from({ length: 60 }, (_, i) => rng.normal() + (i < 30 ? 0.8 : -0.8));
  const y = x.map((_, i) => (i < 30 ? 1 : 0));
  const l2 = 1e-3;
  const { w, b } = fitLogistic(x, y, l2);
  assert.ok(w > 0, 'members have the larger feature here, so the slope is positive');
  let gw = l2 * w;
  let gb = 0;
  x.forEach((xi, i) => {
    const r = 1 / (1 + Math.exp(-(w * xi + b))) - y[i];
    gw += r * xi;
    gb += r;
  });
  assert.ok(Math.abs(gw) < 1e-6 && Math.abs(gb) < 1e-6, `gradient at the fit: ${gw}, ${gb}`);
});

test('the audit is near chance when both sides have the same losses, and near 1 when either side stands out', () => {
  const rng = new Rng(5);
  const draw = (n: number, shift: number) => Array.from({ length: n }, () => Math.exp(rng.normal() + shift));
  const same = membershipAudit(draw(200, 0), draw(300, 0), 0)!;
  assert.equal(same.pairs, 200);
  assert.ok(Math.abs(same.accuracy - 0.5) < 0.1, `same distribution: ${same.accuracy}`);
  const memorised = membershipAudit(draw(64, -6), draw(64, 0), 0)!;
  assert.ok(memorised.accuracy > 0.95, `memorised (low loss): ${memorised.accuracy}`);
  assert.ok(memorised.medianLoss.forget < memorised.medianLoss.heldOut);
  const overshot = membershipAudit(draw(64, 6), draw(64, 0), 0)!;
  assert.ok(overshot.accuracy > 0.95, `overshot (high loss): ${overshot.accuracy}`);
  assert.ok(overshot.medianLoss.forget > overshot.medianLoss.heldOut);
  // Seeded: the same inputs give the same answer.
  const f = draw(32, 1);
  const h = draw(32, 0);
  assert.deepEqual(membershipAudit(f, h, 7), membershipAudit(f, h, 7));
});

test('the audit needs 4 instances per side, and cuts the larger side to the smaller', () => {
  assert.equal(membershipAudit([0.1, 0.2, 0.3], [1, 2, 3, 4, 5], 0), undefined);
  assert.equal(membershipAudit([0.1, 0.2, 0.3, 0.4, 0.5], [1, 2, 3, 4], 0)?.pairs, 4);
});

test('per-sample losses are the cross-entropy of each instance, and leave no tensor behind', async () => {
  const model = tinyModel();
  const set = randomForgetSet(10);
  const n0 = tf.memory().numTensors;
  const losses = await perSampleLosses(model, set.images, set.labels, set.imageShape, 4);
  assert.equal(tf.memory().numTensors, n0);
  const mean = tf.tidy(() => crossEntropy(logits(model, tf.tensor4d(set.images, [10, ...set.imageShape]), false, true), tf.tensor1d(set.labels, 'int32')));
  const expected = (await mean.data())[0];
  mean.dispose();
  assert.ok(Math.abs(losses.reduce((s, v) => s + v, 0) / 10 - expected) < 1e-5);
  assert.ok(losses.every((v) => v > 0));
  model.dispose();
});
