/**
 * The engine against golden values from PyTorch (tools/golden.py, float64) on the same tiny
 * model and inputs: one PGD step, MAS importance and its inverted weights, every loss, SGD steps,
 * and against the PyTorch twin (tools/reference/unlearn.py): the attack plan with the paper's
 * code's random start, a short attack from it, and the adversarial batch order.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from '../../src/engine/runtime/backend';
import { smallCnn } from '../../tools/zoo';
import { attackRange, pgdStep, planAttack } from '../../src/engine/core/attack';
import { DEFAULT_ATTACK } from '../../src/contracts/options';
import { Rng } from '../../src/engine/core/rng';
import { Loader } from '../../src/engine/core/unlearn';
import { invertedImportance, masImportance } from '../../src/engine/core/importance';
import { crossEntropy, forgetLoss, importancePenalty, pairedLoss } from '../../src/engine/core/objectives';
import { forwardOf, logits, trainableParameters } from '../../src/engine/core/modelState';
import { Sgd } from '../../src/engine/core/optimizer';
import { assertNoGpuErrors, useBackend } from './helpers';

interface Named {
  name: string;
  shape: number[];
  data: number[];
}
interface Arr {
  shape: number[];
  data: number[];
}
const golden = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/golden.json'), 'utf8'));

before(useBackend);
after(assertNoGpuErrors);

function model(weights: Named[] = golden.weights): tfTypes.LayersModel {
  const m = smallCnn(golden.architecture);
  const byName = new Map(weights.map((w) => [w.name, w]));
  m.setWeights(
    m.weights.map((w) => {
      const g = byName.get(w.originalName);
      assert.ok(g, `golden.json has no weight ${w.originalName}`);
      assert.deepEqual(g.shape, w.shape);
      return tf.tensor(g.data, g.shape);
    }),
  );
  return m;
}

const tensor = (a: Arr) => tf.tensor(a.data, a.shape);

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    worst = Math.max(worst, err);
  }
  assert.ok(worst <= tol, `${what}: max relative error ${worst.toExponential(2)} > ${tol}`);
}

const x = () => tensor(golden.x) as tfTypes.Tensor4D;
/** Reads are asynchronous: the webgpu backend cannot read synchronously in Node. */
const read = (t: tfTypes.Tensor): Promise<Float32Array> => t.data() as Promise<Float32Array>;
const labels = (v: number[]) => tf.tensor1d(v, 'int32');

test('logits in inference and training mode match PyTorch', async () => {
  const m = model();
  assert.ok(forwardOf(m), "the small CNN should run through the engine's own forward pass");
  assertClose(await read(logits(m, x(), false)), golden.logits_eval.data, 'logits_eval');
  assertClose(await read(logits(m, x(), true)), golden.logits_train.data, 'logits_train');
});

test('one targeted L2 PGD step, and ten, match PyTorch', async () => {
  const m = model();
  const delta0 = tensor(golden.delta0) as tfTypes.Tensor4D;
  const t = labels(golden.t);
  const { epsilon, alpha } = { epsilon: golden.config.eps, alpha: golden.config.alpha };
  const one = pgdStep(m, x(), delta0, t, epsilon, alpha);
  assertClose(await read(one), golden.pgd_delta.data, 'pgd_delta');
  assertClose(await read(tf.add(x(), one)), golden.pgd_x_adv.data, 'pgd_x_adv');
  let d = delta0;
  for (let i = 0; i < 10; i++) d = pgdStep(m, x(), d, t, epsilon, alpha);
  assertClose(await read(d), golden.pgd_delta_10.data, 'pgd_delta_10', 5e-4);
});

test('MAS importance and inverted weights match PyTorch, and leave the model unchanged', async () => {
  const m = model();
  const before = await Promise.all(m.getWeights().map(async (w) => (await read(w)).slice()));
  const { names, omega } = masImportance(m, x());
  const expected = golden.mas_importance as Named[];
  assert.deepEqual(
    names,
    expected.map((e) => e.name),
  );
  for (const [i, o] of omega.entries()) assertClose(await read(o), expected[i].data, `Omega ${names[i]}`);
  const w = invertedImportance(omega);
  for (const [i, t] of w.entries()) assertClose(await read(t), (golden.mas_weights as Named[])[i].data, `w ${names[i]}`, 5e-4);
  for (const [i, t] of m.getWeights().entries()) assert.deepEqual(await read(t), before[i], 'importance changed a weight (BatchNorm statistics?)');
});

test('inverted importance of a constant tensor is 1 (anchored), not NaN', async () => {
  const [w] = invertedImportance([tf.fill([3], 0.7)]);
  assert.deepEqual(Array.from(await read(w)), [1, 1, 1]);
});

test('the losses match PyTorch', async () => {
  assertClose(await read(forgetLoss(logits(model(), x(), true), labels(golden.y), false)), [golden.loss_naive], 'loss_naive');
  assertClose(await read(forgetLoss(logits(model(), x(), true), labels(golden.y_new), true)), [golden.loss_relabel], 'loss_relabel');

  const adv = (m: tfTypes.LayersModel) => {
    const xa = tensor(golden.pgd_x_adv);
    const advCe = crossEntropy(logits(m, xa, true), labels(golden.t));
    const xf = tf.slice(x(), 0, 2);
    const forgetCe = crossEntropy(logits(m, xf, true), labels(golden.y.slice(0, 2)));
    return { advCe, forgetCe, loss: pairedLoss(tf.neg(forgetCe) as tfTypes.Scalar, 2, advCe, 4) };
  };
  const plain = adv(model());
  assertClose(
    [(await read(plain.forgetCe))[0], (await read(plain.advCe))[0], (await read(plain.loss))[0]],
    [golden.loss_adv_forget_ce, golden.loss_adv_adv_ce, golden.loss_adv],
    'loss_adv',
  );

  const perturbed = model(golden.theta_perturbed);
  const anchors = trainableParameters(model()).map((p) => tf.clone(p.variable));
  const w = (golden.mas_weights as Named[]).map((n) => tf.tensor(n.data, n.shape));
  const penalty = importancePenalty(
    trainableParameters(perturbed).map((p) => p.variable),
    anchors,
    w,
    golden.config.lambda,
  );
  assertClose(await read(penalty), [golden.loss_imp_penalty], 'loss_imp_penalty');
  assertClose(await read(tf.add(adv(perturbed).loss, penalty)), [golden.loss_adv_imp_at_perturbed], 'loss_adv_imp_at_perturbed');
});

test('two SGD steps (momentum, weight decay, BatchNorm training) match torch.optim.SGD', async () => {
  const m = model();
  const vars = trainableParameters(m).map((p) => p.variable);
  const sgd = new Sgd(vars, golden.config.sgd.lr, golden.config.sgd.momentum, golden.config.sgd.weightDecay);
  const losses: number[] = [];
  for (let s = 0; s < golden.config.sgd.steps; s++) {
    const { value, grads } = tf.variableGrads(() => forgetLoss(logits(m, x(), true), labels(golden.y), false), vars);
    losses.push((await read(value))[0]);
    sgd.step(vars.map((v) => grads[v.name]));
  }
  assertClose(losses, golden.sgd_losses, 'sgd_losses');
  const expected = new Map((golden.sgd_weights_after as Named[]).map((n) => [n.name, n]));
  // Every weight, BatchNorm running statistics included (updated with the unbiased variance, as PyTorch).
  for (const w of m.weights) {
    assertClose(await read(w.read()), expected.get(w.originalName)!.data, `after SGD: ${w.originalName}`);
  }
  sgd.dispose();
});

test("the attack plan (the paper's code's random start) and a short attack from it match the PyTorch twin", async () => {
  const m = model();
  const cfg = golden.config.attack;
  const [h, w, c] = golden.architecture.inputShape as [number, number, number];
  const input = {
    images: Float32Array.from(golden.x.data as number[]),
    labels: Int32Array.from(golden.y as number[]),
    imageShape: [h, w, c] as [number, number, number],
    numClasses: golden.architecture.numClasses,
    examplesPerInstance: cfg.nAdv,
  };
  const options = {
    ...DEFAULT_ATTACK,
    epsilon: golden.config.eps,
    stepSize: golden.config.alpha,
    steps: cfg.steps,
    chunkSize: cfg.chunk,
    randomStart: cfg.randomStart,
  };
  // unlearn.ts seeds the attack's generator with seed * 7919 + 1, as the twin's engine_attack_plan.
  const plan = planAttack(input, options, new Rng(cfg.seed * 7919 + 1));
  assert.deepEqual(Array.from(plan.targets), golden.attack_plan.targets);
  assert.deepEqual(Array.from(plan.sources), golden.attack_plan.sources);
  assertClose(plan.starts, golden.attack_plan.starts.data, 'attack_plan.starts', 1e-6);
  const { images } = await attackRange(m, input, plan, 0, plan.targets.length, options);
  assertClose(images, golden.attack_images.data, 'attack_images', 5e-4);
});

test('the adversarial batch order, fixed and shuffled, matches the PyTorch twin', () => {
  const { count, batch, epochs, seed } = golden.config.batches;
  const batches = (shuffle: boolean) => {
    const loader = new Loader(count, batch, new Rng(seed), shuffle);
    return Array.from({ length: epochs * loader.batchesPerEpoch }, () => loader.next());
  };
  assert.deepEqual(batches(false), golden.adversarial_batches);
  assert.deepEqual(batches(true), golden.adversarial_batches_shuffled);
});
