/**
 * The project's own convolution kernels (native/conv.c, 128-bit WebAssembly SIMD), run inside the
 * wasm backend's memory: the module imports the backend's WebAssembly.Memory, so tensors are read
 * and written where they lie, with no copy in or out. Scratch buffers come from the backend's
 * malloc and are freed before returning.
 *
 * Every output is accumulated in the order XNNPACK's convolution uses for the same sum, with a
 * separate multiply and add, so the results equal the XNNPACK-based kernels' (wasmConvGrads.ts)
 * bit for bit (test/engine/kernels.test.ts checks it). What changes is speed: the filter gradient
 * no longer goes through an XNNPACK convolution whose "filter" is the whole output gradient
 * (repacked on every call), and the forward convolution skips XNNPACK's operator set-up.
 */
import type * as tf from '@tensorflow/tfjs';
import { CONV_WASM_BASE64 } from './native/convWasm';
import { startConvolution, startFilterGradient, type ConvShape, type FilterGradShape } from './convHelper';

export type { ConvShape, FilterGradShape };

interface ConvExports {
  swap_outer(src: number, dst: number, a: number, b: number, c: number): void;
  column_sums(x: number, out: number, rows: number, c: number): void;
  bn_centered_square_sums(x: number, mean: number, out: number, rows: number, c: number): void;
  bn_normalize(x: number, mean: number, rstd: number, gamma: number, beta: number, xhat: number, y: number, rows: number, c: number): void;
  column_sums_of_product(a: number, b: number, out: number, rows: number, c: number): void;
  bn_input_gradient(dy: number, xhat: number, meanDy: number, meanDyXhat: number, scale: number, dx: number, rows: number, c: number): void;
  conv2d_filter_grad(
    x: number,
    dy: number,
    dw: number,
    n: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    swapped: number,
    ci0: number,
    ci1: number,
  ): void;
  conv2d(
    x: number,
    f: number,
    bias: number,
    y: number,
    zero: number,
    n: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    pt: number,
    pl: number,
    relu: number,
  ): void;
}

/** What the kernels use of tfjs-backend-wasm's BackendWasm (4.22): its heap, malloc and tensor table. */
export type WasmBackend = tf.KernelBackend & {
  wasm: { asm?: { memory?: unknown }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
};

/** The few WebAssembly constructors used here (the project compiles without the DOM's types). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => { buffer: ArrayBufferLike };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;
const instances = new WeakMap<object, ConvExports | null>();
let enabled = true;

/** Calls into the module so far, by kernel (tests check that the SIMD path really ran). */
export const simdCalls = { filterGradient: 0, convolution: 0, columnSums: 0, batchNorm: 0 };

/** Turns the SIMD kernels off (the XNNPACK-based ones run instead) or on; for tests and comparisons. */
export function useSimdConv(on: boolean): void {
  enabled = on;
}

/**
 * The kernels bound to this backend's memory, or null when they cannot be (a tfjs-backend-wasm
 * whose memory is not reachable or is shared): the callers then use the XNNPACK-based kernels.
 */
export function simdKernels(backend: tf.KernelBackend): ConvExports | null {
  if (!enabled) return null;
  const b = backend as WasmBackend;
  const known = instances.get(b);
  if (known !== undefined) return known;
  let exports: ConvExports | null = null;
  const memory = b.wasm?.asm?.memory;
  if (memory instanceof Wasm.Memory && !(typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)) {
    compiled ??= new Wasm.Module(Buffer.from(CONV_WASM_BASE64, 'base64'));
    exports = new Wasm.Instance(compiled, { env: { memory } }).exports as ConvExports;
  }
  instances.set(b, exports);
  return exports;
}

/**
 * This thread's share of a split convolution (the helper does the rest). Measured on the 2-vCPU
 * machine, one process, helper shares in turn (ADV+IMP SGD steps of the default model, median of
 * 5): this thread at 5/8 of dW's rows and 3/5 of the images gave 297–336 ms per step, against
 * 320–361 ms at half and 308–332 ms at 0.7; at 3/8 and 0.35 it was 349–409 ms. The helper is the
 * slower side here (for the filter gradient it also swaps its own copies of x and dy).
 */
const THIS_THREAD_SHARE = { filterGradient: 0.625, convolution: 0.6 };

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Byte offset of a tensor's data in the wasm heap. */
export function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new Error('A tensor given to a wasm kernel has no data on the wasm backend.');
  return entry.memoryOffset;
}

/** Runs `body` with `bytes` of scratch from the backend's malloc, freed afterwards. */
function withScratch<T>(backend: WasmBackend, sizes: number[], body: (...ptrs: number[]) => T): T {
  const ptrs: number[] = [];
  try {
    for (const bytes of sizes) {
      const p = backend.wasm._malloc(Math.max(bytes, 16));
      if (!p) throw new Error(`The wasm heap could not allocate ${bytes} bytes of scratch.`);
      ptrs.push(p);
    }
    return body(...ptrs);
  } finally {
    for (const p of ptrs) backend.wasm._free(p);
  }
}

/**
 * dW [kh, kw, ci, co] of a convolution (NHWC, dilation 1, any stride and padding). For a filter
 * wider than 1x1, x and dy are first copied with images innermost ([h, w, n, c]), so that the
 * kh*kw passes over them read contiguous memory; a 1x1 filter reads them once, in place.
 */
export function filterGradient(kernels: ConvExports, backend: WasmBackend, x: tf.TensorInfo, dy: tf.TensorInfo, s: FilterGradShape): tf.TensorInfo {
  simdCalls.filterGradient++;
  const out = backend.makeOutput([s.kh, s.kw, s.ci, s.co], 'float32');
  const args = [s.n, s.h, s.w, s.ci, s.oh, s.ow, s.co, s.kh, s.kw, s.sh, s.sw, s.pt, s.pl] as const;
  // With a second thread (convHelper.ts) it takes the upper rows of dW (input channels).
  const mid = Math.round(s.ci * THIS_THREAD_SHARE.filterGradient);
  const helper = s.ci >= 4 ? startFilterGradient(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(dy), s, mid) : null;
  const rows = (ci0: number, ci1: number) => {
    if (s.kh * s.kw === 1) {
      kernels.conv2d_filter_grad(offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out), ...args, 0, ci0, ci1);
      return;
    }
    withScratch(backend, [s.n * s.h * s.w * s.ci * 4, s.n * s.oh * s.ow * s.co * 4], (xt, dyt) => {
      kernels.swap_outer(offsetOf(backend, x), xt, s.n, s.h * s.w, s.ci);
      kernels.swap_outer(offsetOf(backend, dy), dyt, s.n, s.oh * s.ow, s.co);
      kernels.conv2d_filter_grad(xt, dyt, offsetOf(backend, out), ...args, 1, ci0, ci1);
    });
  };
  rows(0, helper ? mid : s.ci);
  if (helper && !helper(() => backend.typedArrayFromHeap(out))) rows(mid, s.ci);
  return out;
}

/**
 * y [n, oh, ow, co] = conv(x, filter [kh, kw, ci, co]) (+ bias) (then ReLU). The output size is
 * given: rows and columns past the input (padding after) read as zeros.
 */
export function convolution(
  kernels: ConvExports,
  backend: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  s: ConvShape,
  relu = false,
): tf.TensorInfo {
  simdCalls.convolution++;
  const out = backend.makeOutput([s.n, s.oh, s.ow, s.co], 'float32');
  if (s.n * s.oh * s.ow * s.co === 0) return out;
  // With a second thread (convHelper.ts) it takes the last images. conv2d takes
  // output pixels four at a time across images, and a group decides whether a padding tap is read
  // as zeros or skipped (which can turn a -0 into +0): the split falls on a group boundary, so each
  // thread forms the groups one thread would.
  const plane = s.oh * s.ow;
  const step = 4 / gcd(plane, 4);
  const n0 = Math.floor((s.n * THIS_THREAD_SHARE.convolution) / step) * step;
  const helper = startConvolution(
    backend.typedArrayFromHeap(x),
    backend.typedArrayFromHeap(filter),
    bias ? backend.typedArrayFromHeap(bias) : null,
    s,
    n0,
    relu,
  );
  const images = (j0: number, j1: number) => {
    // ci zeros, then one byte per (tap, block of 8 output channels): see conv.c.
    withScratch(backend, [s.ci * 4 + s.kh * s.kw * Math.ceil(s.co / 8)], (scratch) => {
      kernels.conv2d(
        offsetOf(backend, x) + j0 * s.h * s.w * s.ci * 4,
        offsetOf(backend, filter),
        bias ? offsetOf(backend, bias) : 0,
        offsetOf(backend, out) + j0 * s.oh * s.ow * s.co * 4,
        scratch,
        j1 - j0,
        s.h,
        s.w,
        s.ci,
        s.oh,
        s.ow,
        s.co,
        s.kh,
        s.kw,
        s.sh,
        s.sw,
        s.dh,
        s.dw,
        s.pt,
        s.pl,
        relu ? 1 : 0,
      );
    });
  };
  images(0, helper ? n0 : s.n);
  if (helper && !helper(() => backend.typedArrayFromHeap(out))) images(n0, s.n);
  return out;
}

/**
 * Column sums of m [rows, c] as [1, c]: bit for bit the wasm backend's matMul of ones [rows, 1]
 * (transposed) with m, which BatchNorm's per-channel sums used (conv.c says why they are equal),
 * in vector lanes instead of one column at a time.
 */
export function columnSums(kernels: ConvExports, backend: WasmBackend, m: tf.TensorInfo): tf.TensorInfo {
  simdCalls.columnSums++;
  const [rows, c] = m.shape;
  const out = backend.makeOutput([1, c], 'float32');
  if (c > 0) kernels.column_sums(offsetOf(backend, m), offsetOf(backend, out), rows, c);
  return out;
}

/**
 * BatchNorm's fused passes (core/batchNormOps.ts, conv.c): `kind` names the pass; `inputs` are
 * [rows, c] tensors then per-channel vectors of c floats, in the C function's order. Returns its
 * outputs: [1, c] sums, or [rows, c] tensors.
 */
export function batchNormPass(
  kernels: ConvExports,
  backend: WasmBackend,
  kind: 'centeredSquareSums' | 'normalize' | 'columnSumsOfProduct' | 'inputGradient',
  inputs: tf.TensorInfo[],
): tf.TensorInfo[] {
  simdCalls.batchNorm++;
  const [rows, c] = inputs[0].shape;
  const ptrs = inputs.map((t) => offsetOf(backend, t));
  const sums = () => backend.makeOutput([1, c], 'float32');
  const full = () => backend.makeOutput([rows, c], 'float32');
  const outs = kind === 'normalize' ? [full(), full()] : kind === 'inputGradient' ? [full()] : [sums()];
  if (rows * c > 0) {
    const o = outs.map((t) => offsetOf(backend, t));
    if (kind === 'centeredSquareSums') kernels.bn_centered_square_sums(ptrs[0], ptrs[1], o[0], rows, c);
    else if (kind === 'normalize') kernels.bn_normalize(ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], o[0], o[1], rows, c);
    else if (kind === 'columnSumsOfProduct') kernels.column_sums_of_product(ptrs[0], ptrs[1], o[0], rows, c);
    else kernels.bn_input_gradient(ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], o[0], rows, c);
  }
  return outs;
}
