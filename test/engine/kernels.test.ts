/**
 * The project's wasm training kernels against tfjs's cpu backend: conv2d gradients with respect
 * to filter and input, over strides, paddings and odd sizes; the BatchNorm gradient; no leaks.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as tfTypes from '@tensorflow/tfjs';
import { bundledTf as tf } from '../../src/engine/core/tf';
import { switchBundledBackend } from '../../src/engine/runtime/backend';
import { Rng } from '../../src/engine/core/rng';

before(() => switchBundledBackend('wasm'));

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  input: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

const cases: Case[] = [];
for (const pad of ['same', 'valid'] as const) {
  for (const strides of [
    [1, 1],
    [2, 2],
    [2, 1],
    [3, 3],
  ] as Array<[number, number]>) {
    cases.push({ input: [2, 9, 8, 3], filter: [3, 3, 3, 4], strides, pad });
    cases.push({ input: [3, 28, 28, 1], filter: [3, 3, 1, 5], strides, pad });
    cases.push({ input: [1, 7, 7, 2], filter: [1, 1, 2, 3], strides, pad });
    cases.push({ input: [2, 10, 11, 2], filter: [5, 4, 2, 2], strides, pad });
  }
}

// The polyphase input gradient (stride > 1): kernel sizes 1, 2, 3, 5; even and odd sizes; batch,
// in and out channels cycling through 1/3 x 1/3/16; square and non-square strides and inputs.
const polyphase: Case[] = [];
{
  let i = 0;
  const channels: Array<[number, number, number]> = [
    [1, 1, 4],
    [3, 3, 16],
    [1, 16, 3],
    [3, 16, 16],
    [1, 3, 1],
    [3, 1, 3],
  ];
  for (const pad of ['same', 'valid'] as const) {
    for (const strides of [
      [2, 2],
      [2, 1],
      [1, 2],
      [3, 2],
    ] as Array<[number, number]>) {
      for (const k of [1, 2, 3, 5]) {
        for (const [hh, ww] of [
          [28, 28],
          [14, 14],
          [7, 7],
          [9, 9],
          [5, 5],
          [7, 10],
        ]) {
          const [n, ci, co] = channels[i++ % channels.length];
          polyphase.push({ input: [n, hh, ww, ci], filter: [k, k === 1 ? 1 : k - (i % 2), ci, co], strides, pad });
        }
      }
    }
  }
  // Explicit padding, including more than the kernel reaches (the conv then skips dy rows).
  polyphase.push({ input: [2, 7, 9, 3], filter: [3, 3, 3, 2], strides: [2, 2], pad: 1 });
  polyphase.push({ input: [2, 7, 9, 3], filter: [3, 2, 3, 2], strides: [2, 2], pad: 4 });
  polyphase.push({
    input: [1, 8, 7, 2],
    filter: [3, 3, 2, 3],
    strides: [2, 3],
    pad: [
      [0, 0],
      [2, 0],
      [0, 3],
      [0, 0],
    ],
  });
}

function random(shape: number[], rng: Rng): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

async function gradients(
  backend: 'cpu' | 'wasm',
  c: Case,
  xData: Float32Array,
  wData: Float32Array,
  dyData?: Float32Array,
): Promise<{ dx: Float32Array; dw: Float32Array; dyShape: number[] }> {
  await tf.setBackend(backend);
  const pad = c.pad as 'same';
  return tf.tidy(() => {
    const x = tf.tensor4d(xData, c.input);
    const w = tf.tensor4d(wData, c.filter);
    const y = tf.conv2d(x, w, c.strides, pad);
    const dy = dyData ? tf.tensor(dyData, y.shape) : tf.onesLike(y);
    const [dx, dw] = tf.grads((a: tfTypes.Tensor, b: tfTypes.Tensor) => tf.conv2d(a as tfTypes.Tensor4D, b as tfTypes.Tensor4D, c.strides, pad))([x, w], dy);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array, dyShape: y.shape };
  });
}

function maxError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

for (const c of cases) {
  test(`conv2d gradients on wasm match cpu: x ${c.input.join('x')}, w ${c.filter.join('x')}, strides ${c.strides}, ${c.pad}`, async () => {
    const rng = new Rng(c.input.reduce((a, b) => a * 31 + b, 7));
    const xData = random(c.input, rng);
    const wData = random(c.filter, rng);
    const shapeProbe = await gradients('cpu', c, xData, wData);
    const dyData = random(shapeProbe.dyShape, rng);
    const cpu = await gradients('cpu', c, xData, wData, dyData);
    const wasm = await gradients('wasm', c, xData, wData, dyData);
    assert.equal(wasm.dw.length, cpu.dw.length);
    assert.equal(wasm.dx.length, cpu.dx.length);
    assert.ok(maxError(wasm.dw, cpu.dw) < 1e-4, `filter gradient differs: ${maxError(wasm.dw, cpu.dw)}`);
    assert.ok(maxError(wasm.dx, cpu.dx) < 1e-4, `input gradient differs: ${maxError(wasm.dx, cpu.dx)}`);
  });
}

/** dx alone, through conv2dTranspose (the Conv2DBackpropInput kernel). */
async function inputGradient(backend: 'cpu' | 'wasm', c: Case, dyShape: number[], dyData: Float32Array, wData: Float32Array): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const dy = tf.tensor4d(dyData, dyShape as [number, number, number, number]);
    const w = tf.tensor4d(wData, c.filter);
    return tf.conv2dTranspose(dy, w, c.input, c.strides, c.pad as 'same').dataSync() as Float32Array;
  });
}

function outputShape(c: Case): [number, number, number, number] {
  return tf.backend_util.computeConv2DInfo(c.input, c.filter, c.strides, 1, c.pad as 'same', undefined, false, 'channelsLast').outShape;
}

const describe = (c: Case) => `x ${c.input.join('x')}, w ${c.filter.join('x')}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}`;

test(`the polyphase input gradient matches cpu over ${polyphase.length} strided shapes`, async () => {
  let checked = 0;
  for (const c of polyphase) {
    if (c.pad === 'valid' && (c.input[1] < c.filter[0] || c.input[2] < c.filter[1])) continue;
    const rng = new Rng(c.input.reduce((a, b) => a * 31 + b, 11) + c.filter.reduce((a, b) => a * 17 + b, 3));
    const dyShape = outputShape(c);
    const dyData = random(dyShape, rng);
    const wData = random(c.filter, rng);
    const cpu = await inputGradient('cpu', c, dyShape, dyData, wData);
    const wasm = await inputGradient('wasm', c, dyShape, dyData, wData);
    assert.equal(wasm.length, cpu.length, describe(c));
    assert.ok(maxError(wasm, cpu) < 1e-4, `input gradient differs (${maxError(wasm, cpu)}): ${describe(c)}`);
    checked++;
  }
  assert.ok(checked > 150, `only ${checked} shapes checked`);
});

test('strided conv2d gradients through tf.grads match cpu, explicit padding included', async () => {
  for (const c of [polyphase[2], polyphase[27], polyphase[60], polyphase[100], ...polyphase.slice(-3)]) {
    const rng = new Rng(c.input.reduce((a, b) => a * 31 + b, 5));
    const xData = random(c.input, rng);
    const wData = random(c.filter, rng);
    const dyData = random(outputShape(c), rng);
    const cpu = await gradients('cpu', c, xData, wData, dyData);
    const wasm = await gradients('wasm', c, xData, wData, dyData);
    assert.ok(maxError(wasm.dx, cpu.dx) < 1e-4, `input gradient differs (${maxError(wasm.dx, cpu.dx)}): ${describe(c)}`);
    assert.ok(maxError(wasm.dw, cpu.dw) < 1e-4, `filter gradient differs (${maxError(wasm.dw, cpu.dw)}): ${describe(c)}`);
  }
});

test('the polyphase input gradient leaks no tensors or buffers', async () => {
  await tf.setBackend('wasm');
  // Cropped output (odd size), a 5-tap kernel, 'valid' with non-square strides, explicit padding
  // (dy rows skipped).
  const leakCases = [polyphase[3], polyphase[20], polyphase[150], polyphase[40], ...polyphase.slice(-3)];
  const once = () => {
    for (const c of leakCases) {
      const dyShape = outputShape(c);
      tf.tidy(() =>
        tf.conv2dTranspose(tf.ones(dyShape) as tfTypes.Tensor4D, tf.ones(c.filter) as tfTypes.Tensor4D, c.input, c.strides, c.pad as 'same').dataSync(),
      );
    }
  };
  once();
  const before = tf.memory();
  for (let i = 0; i < 3; i++) once();
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numDataBuffers, before.numDataBuffers);
  assert.equal(after.numBytes, before.numBytes);
});

test('the BatchNorm gradient (no tile) matches cpu', async () => {
  const rng = new Rng(5);
  const shape = [4, 5, 5, 3];
  const xData = random(shape, rng);
  const dyData = random(shape, rng);
  const run = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor4d(xData, shape as [number, number, number, number]);
      const gamma = tf.tensor1d([1.5, -0.5, 0.3]);
      const beta = tf.tensor1d([0.1, 0.2, -0.3]);
      const f = (a: tfTypes.Tensor, g: tfTypes.Tensor, b: tfTypes.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.batchNorm(a, mean, variance, b, g, 1e-5);
      };
      return tf
        .grads(f)([x, gamma, beta], tf.tensor(dyData, shape))
        .map((g) => g.dataSync() as Float32Array);
    });
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  cpu.forEach((g, i) => assert.ok(maxError(wasm[i], g) < 1e-4, `gradient ${i} differs: ${maxError(wasm[i], g)}`));
});

test('the wasm kernels leak no tensors or buffers', async () => {
  await tf.setBackend('wasm');
  const c = cases[5];
  const rng = new Rng(3);
  const xData = random(c.input, rng);
  const wData = random(c.filter, rng);
  await gradients('wasm', c, xData, wData);
  const before = tf.memory();
  for (let i = 0; i < 3; i++) await gradients('wasm', c, xData, wData);
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numDataBuffers, before.numDataBuffers);
  assert.equal(after.numBytes, before.numBytes);
});
