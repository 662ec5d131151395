/**
 * The engine's own forward pass against tfjs-layers' `model.apply`, on a sequential CNN and on a
 * functional residual net; and the fallback for layers it does not know.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from '../../src/engine/runtime/backend';
import { compileForward } from '../../src/engine/core/forward';
import { resNet } from '../../tools/zoo';
import { assertNoGpuErrors, tinyModel, useBackend } from './helpers';

before(useBackend);
after(assertNoGpuErrors);

function residualNet(): tfTypes.LayersModel {
  const input = tf.input({ shape: [8, 8, 2] });
  const conv = (filters: number, strides = 1) => tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false });
  let x = tf.layers.reLU().apply(tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(conv(4).apply(input))) as tfTypes.SymbolicTensor;
  const branch = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(conv(4).apply(x)) as tfTypes.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu' }).apply(tf.layers.add().apply([x, branch])) as tfTypes.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfTypes.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tfTypes.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'linear' }).apply(x) as tfTypes.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  // Non-trivial BatchNorm statistics so that inference mode really differs from training mode.
  model.setWeights(
    model.weights.map((w) =>
      w.originalName.includes('moving_variance') ? tf.fill(w.shape as number[], 1.7) : tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', 3),
    ),
  );
  return model;
}

/** An asynchronous read: the webgpu backend cannot read synchronously in Node. */
async function close(a: tfTypes.Tensor, b: tfTypes.Tensor): Promise<void> {
  const err = (await tf.max(tf.abs(tf.sub(a, b))).data())[0];
  assert.ok(err < 1e-4, `max difference ${err}`);
}

for (const [name, make, shape] of [
  ['sequential CNN', () => tinyModel(), [3, 8, 8, 1]],
  ['functional residual net', residualNet, [3, 8, 8, 2]],
] as const) {
  test(`${name}: same logits as model.apply, in inference and in training mode`, async () => {
    const model = make();
    const fn = compileForward(model);
    assert.ok(fn, 'should compile');
    const x = tf.randomUniform([...shape], 0, 1, 'float32', 7);
    await close(fn(x, false), model.apply(x, { training: false }) as tfTypes.Tensor);
    await close(fn(x, true), model.apply(x, { training: true }) as tfTypes.Tensor);
    // Input gradients agree too (the PGD path).
    const g1 = tf.grad((v: tfTypes.Tensor) => tf.sum(fn(v, false)))(x);
    const g2 = tf.grad((v: tfTypes.Tensor) => tf.sum(model.apply(v, { training: false }) as tfTypes.Tensor))(x);
    await close(g1, g2);
    // The frozen forward (BatchNorm folded into the convolutions, input gradient only) computes the same.
    await close(fn(x, false, true), model.apply(x, { training: false }) as tfTypes.Tensor);
    await close(
      tf.grad((v: tfTypes.Tensor) => tf.sum(tf.mul(fn(v, false, true), fn(v, false))))(x),
      tf.grad((v: tfTypes.Tensor) => tf.sum(tf.square(model.apply(v, { training: false }) as tfTypes.Tensor)))(x),
    );
    // Weight gradients in training mode agree too (the unlearning path, BatchNorm's own backward).
    const r = tf.randomNormal(fn(x, true).shape, 0, 1, 'float32', 11);
    const vars = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
    const ours = tf.variableGrads(() => tf.sum(tf.mul(fn(x, true), r)) as tfTypes.Scalar, vars).grads;
    const theirs = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tfTypes.Tensor, r)) as tfTypes.Scalar, vars).grads;
    for (const v of vars) await close(ours[v.name], theirs[v.name]);
  });
}

test('the frozen forward folds Conv2D → BatchNorm → ReLU of the shipped ResNet and matches it, stride 2 and projections included', async () => {
  const model = resNet({ inputShape: [12, 12, 1], numClasses: 4, depth: 8, width: 4 });
  model.setWeights(
    model.weights.map((w, i) =>
      w.originalName.includes('moving_variance') ? tf.fill(w.shape as number[], 0.6) : tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', 20 + i),
    ),
  );
  const fn = compileForward(model)!;
  const x = tf.randomUniform([3, 12, 12, 1], 0, 1, 'float32', 9);
  const before = tf.memory().numTensors;
  const y = fn(x, false, true);
  await close(y, model.apply(x, { training: false }) as tfTypes.Tensor);
  const t = tf.tensor1d([0, 1, 2], 'int32');
  const loss = (v: tfTypes.Tensor, frozen: boolean) => tf.losses.softmaxCrossEntropy(tf.oneHot(t, 4), fn(v, false, frozen));
  await close(tf.grad((v: tfTypes.Tensor) => loss(v, true))(x), tf.grad((v: tfTypes.Tensor) => loss(v, false))(x));
  tf.dispose(y);
  assert.ok(tf.memory().numTensors > before, 'sanity: the grads above are still alive');
  const n0 = tf.memory().numTensors;
  tf.dispose(tf.tidy(() => tf.grad((v: tfTypes.Tensor) => loss(v, true))(x)));
  assert.equal(tf.memory().numTensors, n0, 'no tensors leak from the folded path');
});

test('a model with a layer the engine does not model falls back to model.apply', () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.dropout({ rate: 0.5 }), tf.layers.dense({ units: 2 })] });
  assert.equal(compileForward(model), undefined);
});

test('Dense on a rank-3 input acts on the last axis, as Keras does', async () => {
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [4, 3], units: 2, activation: 'relu' }), tf.layers.flatten(), tf.layers.dense({ units: 3 })],
  });
  const fn = compileForward(model);
  assert.ok(fn);
  const x = tf.randomUniform([2, 4, 3], 0, 1, 'float32', 5);
  await close(fn(x, false), model.apply(x) as tfTypes.Tensor);
});
