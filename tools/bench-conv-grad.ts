/**
 * Micro-benchmark of the wasm backend's conv2d input gradient (Conv2DBackpropInput) at the
 * model's stride-2 shapes, batch 320. Prints the median of several timed repeats per shape.
 *
 *   npx tsx tools/bench-conv-grad.ts [repeats=9]
 *
 * "grad" times tf.grad(x => sum(conv2d(x, w, 2, 'same')))(x) (forward conv + backprop input);
 * "kernel" times the Conv2DBackpropInput kernel alone (tf.conv2dTranspose dispatches to it).
 * With UNLEARN_BENCH_COMPARE=1 it also times the dilated-dy kernel (the previous implementation)
 * in the same process, alternating the two so machine load affects both alike.
 */
import { initBackend, tf } from '../src/engine/runtime/backend';
import { conv2dBackpropInput, conv2dBackpropInputDilated } from '../src/engine/runtime/kernels/wasmConvGrads';
import type * as tfTypes from '@tensorflow/tfjs';

const shapes: Array<{ x: [number, number, number, number]; w: [number, number, number, number] }> = [
  { x: [320, 28, 28, 16], w: [3, 3, 16, 32] },
  { x: [320, 14, 14, 32], w: [3, 3, 32, 64] },
];

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function time(f: () => tfTypes.Tensor): number {
  const t0 = performance.now();
  const out = f();
  out.dataSync();
  const t = performance.now() - t0;
  out.dispose();
  return t;
}

function useKernel(func: unknown): void {
  const stock = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: func as tfTypes.KernelFunc });
}

async function main(): Promise<void> {
  const repeats = Number(process.argv[2] ?? 9);
  const info = await initBackend({ choice: 'wasm' });
  console.log(`backend ${info.name ?? tf.getBackend()}`);
  const compare = process.env.UNLEARN_BENCH_COMPARE === '1';
  const variants: Array<[string, unknown]> = compare
    ? [
        ['dilated', conv2dBackpropInputDilated],
        ['polyphase', conv2dBackpropInput],
      ]
    : [['registered', tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc]];
  for (const s of shapes) {
    const x = tf.randomNormal(s.x) as tfTypes.Tensor4D;
    const w = tf.randomNormal(s.w) as tfTypes.Tensor4D;
    const y = tf.conv2d(x, w, 2, 'same');
    const dy = tf.randomNormal(y.shape) as tfTypes.Tensor4D;
    const gradX = tf.grad((a: tfTypes.Tensor) => tf.sum(tf.conv2d(a as tfTypes.Tensor4D, w, 2, 'same')));
    const results = new Map<string, { grad: number[]; kernel: number[] }>(variants.map(([n]) => [n, { grad: [], kernel: [] }]));
    for (const [, func] of variants) {
      useKernel(func);
      time(() => gradX(x));
      time(() => tf.conv2dTranspose(dy, w, s.x, 2, 'same'));
    }
    for (let r = 0; r < repeats; r++) {
      for (const [name, func] of variants) {
        useKernel(func);
        results.get(name)!.grad.push(time(() => gradX(x)));
        results.get(name)!.kernel.push(time(() => tf.conv2dTranspose(dy, w, s.x, 2, 'same')));
      }
    }
    for (const [name, r] of results) {
      console.log(
        `x ${s.x.join('x')} w ${s.w.join('x')} ${name.padEnd(10)} grad median ${median(r.grad).toFixed(1)} ms (min ${Math.min(...r.grad).toFixed(1)})  ` +
          `kernel median ${median(r.kernel).toFixed(1)} ms (min ${Math.min(...r.kernel).toFixed(1)})`,
      );
    }
    tf.dispose([x, w, y, dy]);
  }
}

void main();
