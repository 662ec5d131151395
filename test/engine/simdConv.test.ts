/**
 * The project's SIMD convolution kernels (src/engine/runtime/kernels/native/conv.c): bit for bit
 * the results of the XNNPACK-based kernels they replace, over the shapes of the default ResNet-8
 * and of kernels.test.ts; close to the cpu backend for the forward convolution with bias and ReLU;
 * no tensor left behind; and the committed module is what conv.c builds into.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { bundledTf as tf } from '../../src/engine/core/tf';
import { switchBundledBackend } from '../../src/engine/runtime/backend';
import { simdCalls, simdKernels, useSimdConv } from '../../src/engine/runtime/kernels/simdConv';
import { convHelperOn, failNextHelperStart, failNextHelperTask, helperCalls, useConvHelper } from '../../src/engine/runtime/kernels/convHelper';
import { Rng } from '../../src/engine/core/rng';
import { centeredSquareSums, columnSums, columnSumsOfProduct, inputGradient, normalize } from '../../src/engine/core/batchNormOps';

before(() => switchBundledBackend('wasm'));
after(() => {
  useSimdConv(true);
  useConvHelper(false);
});

type Pad = 'same' | 'valid' | number;
interface Case {
  input: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

// The default model's convolutions (fmnist-resnet8-w16-aug) at batch 3, then odd ones: channel
// counts that are not multiples of 4 or 8, non-square inputs and strides, explicit padding.
const cases: Case[] = [
  { input: [3, 28, 28, 1], filter: [3, 3, 1, 16], strides: [1, 1], pad: 'same' },
  { input: [3, 28, 28, 16], filter: [3, 3, 16, 16], strides: [1, 1], pad: 'same' },
  { input: [3, 28, 28, 16], filter: [3, 3, 16, 32], strides: [2, 2], pad: 'same' },
  { input: [3, 28, 28, 16], filter: [1, 1, 16, 32], strides: [2, 2], pad: 'same' },
  { input: [3, 14, 14, 32], filter: [3, 3, 32, 32], strides: [1, 1], pad: 'same' },
  { input: [3, 14, 14, 32], filter: [3, 3, 32, 64], strides: [2, 2], pad: 'same' },
  { input: [3, 14, 14, 32], filter: [1, 1, 32, 64], strides: [2, 2], pad: 'same' },
  { input: [3, 7, 7, 64], filter: [3, 3, 64, 64], strides: [1, 1], pad: 'same' },
  { input: [2, 9, 8, 5], filter: [3, 3, 5, 7], strides: [1, 1], pad: 'valid' },
  { input: [2, 10, 11, 6], filter: [5, 4, 6, 9], strides: [2, 1], pad: 'same' },
  { input: [1, 7, 9, 12], filter: [2, 3, 12, 20], strides: [3, 2], pad: 'valid' },
  { input: [2, 7, 7, 8], filter: [3, 3, 8, 12], strides: [2, 2], pad: 1 },
  { input: [1, 5, 6, 4], filter: [3, 3, 4, 3], strides: [1, 2], pad: 'same' },
];

const describe = (c: Case) => `x ${c.input.join('x')}, w ${c.filter.join('x')}, strides ${c.strides}, pad ${c.pad}`;

function random(shape: number[], rng: Rng): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

interface Outputs {
  y: Float32Array;
  fused: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

/** Forward (plain, and fused with bias + ReLU), and both gradients, on the active backend. */
function run(c: Case, x: Float32Array, w: Float32Array, b: Float32Array, dyData: Float32Array): Outputs {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.input);
    const wt = tf.tensor4d(w, c.filter);
    const bias = tf.tensor1d(b);
    const pad = c.pad as 'same';
    const y = tf.conv2d(xt, wt, c.strides, pad);
    const fused = tf.fused.conv2d({ x: xt, filter: wt, strides: c.strides, pad, bias, activation: 'relu' });
    const dy = tf.tensor(dyData, y.shape);
    const [dx, dw] = tf.grads((a: tfTypes.Tensor, f: tfTypes.Tensor) => tf.conv2d(a as tfTypes.Tensor4D, f as tfTypes.Tensor4D, c.strides, pad))([xt, wt], dy);
    return { y: y.dataSync() as Float32Array, fused: fused.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function inputs(c: Case): { x: Float32Array; w: Float32Array; b: Float32Array; dy: Float32Array } {
  const rng = new Rng(c.input.reduce((a, v) => a * 31 + v, 17) + c.filter.reduce((a, v) => a * 7 + v, 1));
  const info = tf.backend_util.computeConv2DInfo(c.input, c.filter, c.strides, 1, c.pad as 'same', undefined, false, 'channelsLast');
  return { x: random(c.input, rng), w: random(c.filter, rng), b: random([c.filter[3]], rng), dy: random(info.outShape, rng) };
}

/** Indices where two float arrays differ in any bit. */
function differingBits(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) n++;
  return n;
}

/** Fails unless every output of `a` equals `b`'s in every bit. */
function assertSameBits(a: Outputs, b: Outputs, what: string): void {
  for (const k of ['y', 'fused', 'dx', 'dw'] as const) {
    assert.equal(a[k].length, b[k].length, `${k}: length, ${what}`);
    assert.equal(differingBits(a[k], b[k]), 0, `${k}: ${differingBits(a[k], b[k])} of ${b[k].length} values differ, ${what}`);
  }
}

test('the SIMD module binds to the wasm backend', async () => {
  await tf.setBackend('wasm');
  assert.ok(simdKernels(tf.backend()), "the SIMD kernels could not bind to the wasm backend's memory");
});

for (const c of cases) {
  test(`SIMD kernels equal the XNNPACK-based ones bit for bit: ${describe(c)}`, async () => {
    await tf.setBackend('wasm');
    const d = inputs(c);
    useSimdConv(false);
    const calls = { ...simdCalls };
    const xnn = run(c, d.x, d.w, d.b, d.dy);
    assert.deepEqual(simdCalls, calls, 'the SIMD kernels ran while turned off');
    useSimdConv(true);
    const simd = run(c, d.x, d.w, d.b, d.dy);
    // Filter gradient once; convolutions: the input gradient, and (unless < 4 input channels) the
    // forward, fused and the forward inside tf.grads.
    assert.equal(simdCalls.filterGradient - calls.filterGradient, 1, 'the filter gradient did not run through the SIMD kernel');
    assert.equal(simdCalls.convolution - calls.convolution, c.input[3] < 4 ? 1 : 4, 'a convolution did not run through the SIMD kernel');
    assertSameBits(simd, xnn, describe(c));
  });
}

// The same cases, and the default model's layers at batches that split into unequal halves, with a second thread taking half of every convolution (however small).
const splitCases: Case[] = [
  ...cases,
  { input: [9, 28, 28, 16], filter: [3, 3, 16, 16], strides: [1, 1], pad: 'same' },
  { input: [9, 14, 14, 32], filter: [3, 3, 32, 64], strides: [2, 2], pad: 'same' },
  { input: [8, 7, 7, 64], filter: [3, 3, 64, 64], strides: [1, 1], pad: 'same' },
  { input: [5, 28, 28, 16], filter: [1, 1, 16, 32], strides: [2, 2], pad: 'same' },
];

test('with a second thread, every kernel equals the XNNPACK-based one bit for bit, and the split really ran', async () => {
  await tf.setBackend('wasm');
  let split = { filterGradient: 0, convolution: 0 };
  try {
    for (const c of splitCases) {
      const d = inputs(c);
      useConvHelper(false);
      useSimdConv(false);
      const xnn = run(c, d.x, d.w, d.b, d.dy);
      useSimdConv(true);
      useConvHelper(true, { minWork: 0 });
      const before = { ...helperCalls };
      const two = run(c, d.x, d.w, d.b, d.dy);
      split = {
        filterGradient: split.filterGradient + helperCalls.filterGradient - before.filterGradient,
        convolution: split.convolution + helperCalls.convolution - before.convolution,
      };
      if (c.input[3] >= 4) assert.ok(helperCalls.filterGradient > before.filterGradient, `the filter gradient was not split: ${describe(c)}`);
      // (Small batches may not split: the split falls where conv2d's groups of four pixels do.)
      if (c.input[0] >= 5) assert.ok(helperCalls.convolution > before.convolution, `no convolution was split: ${describe(c)}`);
      assertSameBits(two, xnn, describe(c));
      assert.ok(convHelperOn(), 'the helper stopped');
    }
  } finally {
    useConvHelper(false);
  }
  assert.ok(split.filterGradient >= 10 && split.convolution >= 10, JSON.stringify(split));
});

test('a failed helper task is done by this thread instead, with the same bits, and the helper is dropped until turned on again', async () => {
  await tf.setBackend('wasm');
  const c = splitCases[13];
  const d = inputs(c);
  useConvHelper(false);
  useSimdConv(false);
  const xnn = run(c, d.x, d.w, d.b, d.dy);
  useSimdConv(true);
  try {
    useConvHelper(true, { minWork: 0 });
    // Start the helper with one good call, then make the next task (the first convolution) fail.
    run(c, d.x, d.w, d.b, d.dy);
    assert.ok(convHelperOn());
    const before = { ...helperCalls };
    failNextHelperTask();
    const out = run(c, d.x, d.w, d.b, d.dy);
    assert.equal(helperCalls.convolution, before.convolution + 1, 'only the failed task was handed over');
    assert.equal(helperCalls.filterGradient, before.filterGradient, 'the helper was used after it failed');
    assert.equal(convHelperOn(), false, 'a failed helper stays in use');
    assertSameBits(out, xnn, 'after a failed task');
    useConvHelper(false);
    useConvHelper(true, { minWork: 0 });
    const again = run(c, d.x, d.w, d.b, d.dy);
    assert.ok(convHelperOn(), 'turned on again, the helper does not start');
    assert.equal(differingBits(again.dw, xnn.dw), 0);
  } finally {
    useConvHelper(false);
  }
});

test('a helper that cannot start is given up on at once: this thread computes everything, with the same bits', async () => {
  await tf.setBackend('wasm');
  const c = splitCases[13];
  const d = inputs(c);
  useConvHelper(false);
  const one = run(c, d.x, d.w, d.b, d.dy);
  failNextHelperStart();
  useConvHelper(true, { minWork: 0 });
  try {
    const t0 = performance.now();
    const two = run(c, d.x, d.w, d.b, d.dy);
    // Not a timing goal: a helper that never says it started would be waited for 10 s.
    assert.ok(performance.now() - t0 < 5000, `waited ${Math.round(performance.now() - t0)} ms for a helper that had failed`);
    assert.equal(convHelperOn(), false, 'a helper that failed to start is still in use');
    assertSameBits(two, one, 'one thread against two');
  } finally {
    useConvHelper(false);
  }
});

test("a convolution too big for the helper's memory runs on this thread alone, with the same bits", async () => {
  await tf.setBackend('wasm');
  // At batch 9, a 28x28x16 layer's filter gradient needs 1.8 MB of the helper (x, dy and their
  // swapped copies), the forward's split 0.5 MB: under a 1 MB ceiling only the forward splits.
  const c = splitCases[13];
  const d = inputs(c);
  useConvHelper(false);
  const one = run(c, d.x, d.w, d.b, d.dy);
  useConvHelper(true, { minWork: 0, maxBytes: 1 << 20 });
  try {
    const before = { ...helperCalls };
    const two = run(c, d.x, d.w, d.b, d.dy);
    assert.ok(helperCalls.convolution > before.convolution, 'the forward convolution was not split');
    assert.equal(helperCalls.filterGradient, before.filterGradient, 'the filter gradient was split past the ceiling');
    assertSameBits(two, one, 'one thread against two');
    assert.ok(convHelperOn(), 'a refused split must not drop the helper');
  } finally {
    useConvHelper(false);
  }
});

test('the second thread stays off under its threshold and when turned off', async () => {
  await tf.setBackend('wasm');
  const c = splitCases[13];
  const d = inputs(c);
  const before = { ...helperCalls };
  useConvHelper(true, { minWork: Number.MAX_SAFE_INTEGER });
  run(c, d.x, d.w, d.b, d.dy);
  useConvHelper(false);
  run(c, d.x, d.w, d.b, d.dy);
  assert.deepEqual(helperCalls, before);
});

test("BatchNorm's column sums equal the wasm matMul of ones they replace, bit for bit", async () => {
  await tf.setBackend('wasm');
  const rng = new Rng(7);
  for (const [rows, c] of [
    [1, 1],
    [47, 3],
    [48, 4],
    [49, 16],
    [12544, 16],
    [1000, 20],
    [2353, 64],
    [96, 33],
  ]) {
    const data = Float32Array.from({ length: rows * c }, (_, i) => (i % 11 === 0 ? -0 : rng.normal() * 10 ** Math.floor(rng.next() * 6 - 3)));
    const before = simdCalls.columnSums;
    const [ours, matMul] = tf.tidy(() => {
      const m = tf.tensor2d(data, [rows, c]);
      const sums = columnSums(m);
      const reference = tf.matMul(tf.ones([rows, 1]) as tfTypes.Tensor2D, m, true, false);
      assert.deepEqual(sums.shape, [1, c]);
      return [sums.dataSync() as Float32Array, reference.dataSync() as Float32Array];
    });
    assert.equal(simdCalls.columnSums, before + 1, 'the SIMD column sums did not run');
    assert.equal(differingBits(ours, matMul), 0, `${rows} x ${c}: ${differingBits(ours, matMul)} of ${c} sums differ`);
  }
  // Off the wasm backend it is the matMul itself.
  await tf.setBackend('cpu');
  const m = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
  assert.deepEqual(Array.from(columnSums(m).dataSync()), [9, 12]);
  m.dispose();
  await tf.setBackend('wasm');
});

test("BatchNorm's fused passes equal the ops they stand for, bit for bit", async () => {
  await tf.setBackend('wasm');
  const rng = new Rng(11);
  const values = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => (i % 13 === 0 ? -0 : rng.normal() * scale));
  for (const [rows, c] of [
    [1, 1],
    [47, 3],
    [49, 16],
    [12544, 16],
    [2353, 64],
    [96, 33],
  ]) {
    const x = values(rows * c, 3);
    const dy = values(rows * c);
    const perChannel = () => values(c);
    const [mean, rstd, gamma, beta, mDy, mDyX, scale] = [
      perChannel(),
      perChannel().map(Math.abs),
      perChannel(),
      perChannel(),
      perChannel(),
      perChannel(),
      perChannel(),
    ];
    const passes = () =>
      tf.tidy(() => {
        const X = tf.tensor2d(x, [rows, c]);
        const D = tf.tensor2d(dy, [rows, c]);
        const m = tf.tensor2d(mean, [1, c]);
        const [xhat, y] = normalize(X, m, tf.tensor2d(rstd, [1, c]), tf.tensor1d(gamma), tf.tensor1d(beta));
        return [
          centeredSquareSums(X, m),
          xhat,
          y,
          columnSumsOfProduct(D, xhat),
          inputGradient(D, xhat, tf.tensor2d(mDy, [1, c]), tf.tensor2d(mDyX, [1, c]), tf.tensor2d(scale, [1, c])),
        ].map((t) => t.dataSync() as Float32Array);
      });
    useSimdConv(false);
    const ops = passes();
    useSimdConv(true);
    const before = simdCalls.batchNorm;
    const fusedOut = passes();
    assert.equal(simdCalls.batchNorm - before, 4, 'the fused passes did not run');
    ['centered square sums', 'xhat', 'y', 'sums of a product', 'input gradient'].forEach((name, i) => {
      assert.equal(fusedOut[i].length, ops[i].length, `${name}: length`);
      assert.equal(differingBits(fusedOut[i], ops[i]), 0, `${rows} x ${c}, ${name}: ${differingBits(fusedOut[i], ops[i])} of ${ops[i].length} values differ`);
    });
  }
});

test('the SIMD forward convolution (plain, and with bias and ReLU) matches the cpu backend', async () => {
  for (const c of [cases[1], cases[2], cases[9], cases[10], cases[11]]) {
    const d = inputs(c);
    await tf.setBackend('cpu');
    const cpu = run(c, d.x, d.w, d.b, d.dy);
    await tf.setBackend('wasm');
    const simd = run(c, d.x, d.w, d.b, d.dy);
    for (const k of ['y', 'fused'] as const) {
      let worst = 0;
      for (let i = 0; i < cpu[k].length; i++) worst = Math.max(worst, Math.abs(simd[k][i] - cpu[k][i]) / Math.max(1, Math.abs(cpu[k][i])));
      assert.ok(worst < 1e-4, `${k} differs by ${worst}: ${describe(c)}`);
    }
  }
});

test('the SIMD kernels leave no tensor or buffer behind', async () => {
  await tf.setBackend('wasm');
  const c = cases[5];
  const d = inputs(c);
  run(c, d.x, d.w, d.b, d.dy);
  const before = tf.memory();
  for (let i = 0; i < 3; i++) run(c, d.x, d.w, d.b, d.dy);
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numDataBuffers, before.numDataBuffers);
  assert.equal(after.numBytes, before.numBytes);
});

const hasClang = spawnSync('clang', ['--version']).status === 0 && spawnSync('wasm-ld', ['--version']).status === 0;

test(
  'convWasm.ts is what conv.c builds into (clang + lld)',
  { skip: hasClang ? false : 'clang and lld are not installed (apt-get install -y clang lld); CI installs them' },
  () => {
    const script = path.join(__dirname, '../../src/engine/runtime/kernels/native/build.mjs');
    const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    assert.match(out, /matches conv\.c/);
  },
);
