/**
 * CPU time of the default ResNet-8's convolutions (batch 272 = one SGD step's 256 + 16), on the
 * wasm backend, with the project's SIMD kernels and with the XNNPACK-based ones they replace
 * (useSimdConv), and whether the results are bit-identical. CPU time of this single-threaded
 * process, median of 5, so that a loaded shared machine distorts it less than wall time.
 *
 *   node --import tsx tools/bench-simd-conv.ts [batch]
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { bundledTf as tf } from '../src/engine/core/tf';
import { switchBundledBackend } from '../src/engine/runtime/backend';
import { useSimdConv } from '../src/engine/runtime/kernels/simdConv';

const batch = Number(process.argv[2] ?? 272);
// [height, in channels, out channels, kernel, stride] of fmnist-resnet8-w16-aug's convolutions.
const layers: Array<[number, number, number, number, number]> = [
  [28, 1, 16, 3, 1],
  [28, 16, 16, 3, 1],
  [28, 16, 16, 3, 1],
  [28, 16, 32, 3, 2],
  [28, 16, 32, 1, 2],
  [14, 32, 32, 3, 1],
  [14, 32, 64, 3, 2],
  [14, 32, 64, 1, 2],
  [7, 64, 64, 3, 1],
];

function cpuMs(f: () => tfTypes.Tensor): { ms: number; out: Float32Array } {
  const times: number[] = [];
  let out: Float32Array = new Float32Array(0);
  for (let i = 0; i < 5; i++) {
    const t0 = process.cpuUsage();
    const r = f();
    out = r.dataSync() as Float32Array;
    const d = process.cpuUsage(t0);
    r.dispose();
    times.push((d.user + d.system) / 1000);
  }
  return { ms: times.sort((a, b) => a - b)[2], out };
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && new Uint32Array(a.buffer).every((v, i) => v === new Uint32Array(b.buffer)[i]);

async function main(): Promise<void> {
  await switchBundledBackend('wasm');
  const totals = { xnn: { y: 0, dx: 0, dw: 0 }, simd: { y: 0, dx: 0, dw: 0 } };
  console.log(`batch ${batch}; CPU ms, median of 5: XNNPACK-based -> SIMD (bit-identical?)`);
  console.log('layer                    | forward            | input gradient     | filter gradient');
  for (const [h, ci, co, k, s] of layers) {
    const x = tf.randomNormal([batch, h, h, ci], 0, 1, 'float32', 1) as tfTypes.Tensor4D;
    const w = tf.randomNormal([k, k, ci, co], 0, 1, 'float32', 2) as tfTypes.Tensor4D;
    const y0 = tf.conv2d(x, w, s, 'same');
    const dy = tf.randomNormal(y0.shape, 0, 1, 'float32', 3) as tfTypes.Tensor4D;
    const ops = {
      y: () => tf.conv2d(x, w, s, 'same'),
      dx: () => tf.conv2dTranspose(dy, w, x.shape, s, 'same'),
      dw: () => tf.grad((f: tfTypes.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tfTypes.Tensor4D, s, 'same'), dy)))(w),
    };
    const cells: string[] = [];
    for (const key of ['y', 'dx', 'dw'] as const) {
      useSimdConv(false);
      const a = cpuMs(ops[key]);
      useSimdConv(true);
      const b = cpuMs(ops[key]);
      totals.xnn[key] += a.ms;
      totals.simd[key] += b.ms;
      cells.push(`${a.ms.toFixed(1).padStart(6)} -> ${b.ms.toFixed(1).padStart(6)} ${same(a.out, b.out) ? '=' : '≠'}`);
    }
    console.log(`${`${h}x${h} ${ci}->${co} k${k} s${s}`.padEnd(24)} | ${cells.join(' | ')}`);
    tf.dispose([x, w, y0, dy]);
  }
  const t = (o: { y: number; dx: number; dw: number }) => `${o.y.toFixed(0)} / ${o.dx.toFixed(0)} / ${o.dw.toFixed(0)}`;
  console.log(`total (forward / input gradient / filter gradient), ms: XNNPACK-based ${t(totals.xnn)}, SIMD ${t(totals.simd)}`);
  console.log('(the filter-gradient column includes a forward conv and the multiply-sum that tf.grad needs; so do both sides)');
}

void main();
