/**
 * A second thread for the SIMD convolutions of this thread's training step.
 *
 * The wasm backend runs a kernel on one thread, and its heap is not shared, so the helper works in
 * a shared WebAssembly.Memory of its own, with the same C code built for a shared memory
 * (native/convWasm.ts, CONV_WASM_SHARED). For a convolution big enough to pay for it:
 *   - forward (and the input gradients' inner convolution): the helper takes the last 2/5 of the
 *     images; their input is copied to it, their output back;
 *   - filter gradient: the helper takes the last 3/8 of the input channels (rows of dW); x and
 *     dy are copied to it, its rows of dW back.
 * (The shares are simdConv.ts's THIS_THREAD_SHARE, measured.) This thread does the rest
 * meanwhile, in place, then waits for the helper (Atomics: the kernels are synchronous). Every output is the same sum in the same order as on one thread, so
 * the results are bit for bit the same (test/engine/simdConv.test.ts checks it).
 *
 * Used by the one thread that runs a request's training step (the CLI's, or the extension's engine
 * worker); never by the warm pool's PGD and method threads, which already keep every core busy. If
 * the helper fails or does not answer, this thread computes the rest itself and stops using it.
 */
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { CONV_WASM_BASE64, CONV_WASM_SHARED_BASE64 } from './native/convWasm';

/** The helper's program (run with eval: it needs nothing from the bundle). */
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, module, control } = workerData;
const c = new Int32Array(control);
let k;
try {
  k = new WebAssembly.Instance(module, { env: { memory } }).exports;
  Atomics.store(c, 5, 1);
} catch (e) {
  Atomics.store(c, 5, -1);
}
Atomics.notify(c, 1);
let seen = 0;
for (;;) {
  if (!k) break;
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (seen < 0) break;
  const a = Array.from(c.subarray(${8}, ${8} + c[3]));
  let status = 0;
  try {
    if (c[2] === 1) {
      const [x, dy, dw, xt, dyt, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, pt, pl, swapped, ci0, ci1] = a;
      if (swapped) {
        k.swap_outer(x, xt, n, h * w, ci);
        k.swap_outer(dy, dyt, n, oh * ow, co);
        k.conv2d_filter_grad(xt, dyt, dw, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, pt, pl, 1, ci0, ci1);
      } else {
        k.conv2d_filter_grad(x, dy, dw, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, pt, pl, 0, ci0, ci1);
      }
    } else if (c[2] === 2) {
      k.conv2d(...a);
    } else {
      status = 2;
    }
  } catch (e) {
    status = 1;
  }
  c[4] = status;
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}
`;

/** Int32 slots of the control block: 0 request number, 1 answered number, 2 kind, 3 argument count, 4 status, 5 started (1) or failed to start (-1), 8.. arguments. */
const ARGS = 8;
const PAGE = 65536;
/**
 * The shared memory's ceiling: 256 MiB. The default model's biggest split needs about 55 MiB (x, dy
 * and their swapped copies for a 28x28x16 layer at batch 272); a convolution that would need more
 * runs on this thread alone, so a big model never pays with a second copy of its activations.
 */
const MAX_PAGES = 4096;
/** Work under this many multiply-adds stays on one thread: the copies and the hand-over would cost more than they save. */
const DEFAULT_MIN_WORK = 2_000_000;
/** How long to wait for the helper before doing its part here (a stuck or dead helper). */
const ANSWER_TIMEOUT_MS = 60_000;
/** How long a helper may take to start (a thread that cannot start is given up on sooner). */
const START_TIMEOUT_MS = 10_000;

/** Calls that went to two threads so far, by kernel (tests check that the split really ran). */
export const helperCalls = { filterGradient: 0, convolution: 0 };

interface Helper {
  worker: Worker;
  memory: { buffer: ArrayBufferLike; grow(pages: number): number };
  control: Int32Array;
  request: number;
}

let wanted = false;
let maxBytes = MAX_PAGES * PAGE;
/** Tests: the next task is sent as one the helper does not know, so that it answers with a failure. */
let failNext = false;
let minWork = DEFAULT_MIN_WORK;
let helper: Helper | null | undefined;

/**
 * Turns the second thread on or off for this thread's convolutions. `minWork`: the smallest
 * convolution (in multiply-adds) worth splitting; tests set 0 to split every one. `maxBytes`: a
 * lower ceiling for the helper's memory than MAX_PAGES (tests).
 */
export function useConvHelper(on: boolean, options: { minWork?: number; maxBytes?: number } = {}): void {
  wanted = on;
  minWork = options.minWork ?? DEFAULT_MIN_WORK;
  maxBytes = Math.min(options.maxBytes ?? Infinity, MAX_PAGES * PAGE);
  if (!on) stopHelper();
}

/** Tests: the next helper is given the module built for an unshared memory, which cannot start on a shared one. */
let badStart = false;

/** For tests: the next helper fails to start (it is given a module it cannot instantiate). */
export function failNextHelperStart(): void {
  badStart = true;
}

/** For tests: the helper's next task fails, as a helper that crashed in a kernel would. */
export function failNextHelperTask(): void {
  failNext = true;
}

/** Whether this thread is one of the warm pool's (workerPool.ts): those never get a helper. */
function inPoolThread(): boolean {
  return !isMainThread && (workerData as { pool?: boolean } | null)?.pool === true;
}

/**
 * A request's training step on `threads` threads: with 2 or more (the request's worker count:
 * `--workers`, default one per core), a helper thread takes half of each big convolution. A
 * thread of the warm pool keeps to one.
 */
export function trainOnThreads(threads: number): void {
  useConvHelper(threads >= 2 && !inPoolThread());
}

/** Whether convolutions of this thread are split over two threads now. */
export function convHelperOn(): boolean {
  return wanted && helper !== null;
}

function stopHelper(): void {
  if (helper) {
    Atomics.store(helper.control, 0, -1);
    Atomics.notify(helper.control, 0);
    void helper.worker.terminate();
  }
  helper = undefined;
}

function start(): Helper | null {
  try {
    const W = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => Helper['memory']; Module: new (b: Uint8Array) => object } }).WebAssembly;
    const memory = new W.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const module = new W.Module(Buffer.from(badStart ? CONV_WASM_BASE64 : CONV_WASM_SHARED_BASE64, 'base64'));
    badStart = false;
    const control = new Int32Array(new SharedArrayBuffer(4 * (ARGS + 32)));
    const worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { memory, module, control: control.buffer } });
    worker.unref();
    worker.on('error', () => {
      if (helper && helper.worker === worker) helper = null;
    });
    return { worker, memory, control, request: 0 };
  } catch {
    return null;
  }
}

/** The running helper, started on first use; null when off or broken. */
function running(work: number): Helper | null {
  if (!wanted || work < minWork) return null;
  if (helper === undefined) helper = start();
  return helper;
}

/** Grows the shared memory to at least `bytes`; false when it cannot. */
function ensure(h: Helper, bytes: number): boolean {
  if (bytes > maxBytes) return false;
  const have = h.memory.buffer.byteLength;
  if (bytes <= have) return true;
  const pages = Math.ceil((bytes - have) / PAGE);
  if (have / PAGE + pages > MAX_PAGES) return false;
  try {
    h.memory.grow(pages);
    return true;
  } catch {
    return false;
  }
}

/** Hands a task to the helper; returns a function that waits for it (true: done, false: failed). */
function post(h: Helper, kind: number, args: number[]): () => boolean {
  const c = h.control;
  c[2] = failNext ? -1 : kind;
  failNext = false;
  c[3] = args.length;
  for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i];
  const request = ++h.request;
  Atomics.store(c, 0, request);
  Atomics.notify(c, 0);
  return () => {
    const since = Date.now();
    const until = since + ANSWER_TIMEOUT_MS;
    for (;;) {
      const answered = Atomics.load(c, 1);
      if (answered === request) break;
      const started = Atomics.load(c, 5);
      const left = started === 1 ? until - Date.now() : Math.min(until, since + START_TIMEOUT_MS) - Date.now();
      if (left <= 0 || started === -1 || helper !== h) {
        // Dead or stuck: stop using it; the caller does its part.
        if (helper === h) {
          stopHelper();
          helper = null;
        }
        return false;
      }
      Atomics.wait(c, 1, answered, Math.min(left, 1000));
    }
    if (c[4] !== 0) {
      stopHelper();
      helper = null;
      return false;
    }
    return true;
  };
}

/** A convolution's filter gradient: NHWC, dilation 1 (simdConv.ts's filterGradient). */
export interface FilterGradShape {
  n: number;
  h: number;
  w: number;
  ci: number;
  oh: number;
  ow: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
}

/** A convolution (simdConv.ts's convolution). */
export interface ConvShape {
  n: number;
  h: number;
  w: number;
  ci: number;
  oh: number;
  ow: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** Padding before the first row and column; may be negative (rows skipped). */
  pt: number;
  pl: number;
}

/** A bump allocator over the shared memory, 64-byte aligned. */
function layout(sizes: number[]): { offsets: number[]; end: number } {
  const offsets: number[] = [];
  let at = 64;
  for (const bytes of sizes) {
    offsets.push(at);
    at += Math.ceil(Math.max(bytes, 16) / 64) * 64;
  }
  return { offsets, end: at };
}

/**
 * Starts the helper on the rows [ci0, ci) of dW; `x` and `dy` are this thread's views of the
 * inputs (NHWC). Returns null when the helper is off, the convolution too small or too narrow to
 * split; else `finish(dw)`, which waits and writes the helper's rows into `dw` (this thread's view
 * of the output), returning false when the helper failed (the caller computes those rows itself).
 */
export function startFilterGradient(x: Float32Array, dy: Float32Array, s: FilterGradShape, ci0: number): ((dw: () => Float32Array) => boolean) | null {
  if (ci0 <= 0 || ci0 >= s.ci) return null;
  const h = running(s.n * s.oh * s.ow * s.co * s.kh * s.kw * s.ci);
  if (!h) return null;
  const swapped = s.kh * s.kw === 1 ? 0 : 1;
  const dwFloats = s.kh * s.kw * s.ci * s.co;
  const { offsets, end } = layout([x.byteLength, dy.byteLength, swapped ? x.byteLength : 0, swapped ? dy.byteLength : 0, dwFloats * 4]);
  if (!ensure(h, end)) return null;
  const [xo, dyo, xto, dyto, dwo] = offsets;
  const buffer = h.memory.buffer;
  new Float32Array(buffer, xo, x.length).set(x);
  new Float32Array(buffer, dyo, dy.length).set(dy);
  helperCalls.filterGradient++;
  const wait = post(h, 1, [xo, dyo, dwo, xto, dyto, s.n, s.h, s.w, s.ci, s.oh, s.ow, s.co, s.kh, s.kw, s.sh, s.sw, s.pt, s.pl, swapped, ci0, s.ci]);
  return (dw) => {
    if (!wait()) return false;
    const from = new Float32Array(h.memory.buffer, dwo, dwFloats);
    const out = dw();
    const rows = (s.ci - ci0) * s.co;
    for (let t = 0; t < s.kh * s.kw; t++) {
      const at = t * s.ci * s.co + ci0 * s.co;
      out.set(from.subarray(at, at + rows), at);
    }
    return true;
  };
}

/**
 * Starts the helper on images [n0, n) of a convolution; `x` is this thread's view of the whole
 * input, `filter` and `bias` (or null) of the weights. Returns null when not split; else
 * `finish(y)`, which waits and writes the helper's images into `y` (this thread's view of the
 * whole output), returning false when the helper failed (the caller computes them itself).
 */
export function startConvolution(
  x: Float32Array,
  filter: Float32Array,
  bias: Float32Array | null,
  s: ConvShape,
  n0: number,
  relu: boolean,
): ((y: () => Float32Array) => boolean) | null {
  if (n0 <= 0 || n0 >= s.n) return null;
  const h = running(s.n * s.oh * s.ow * s.co * s.kh * s.kw * s.ci);
  if (!h) return null;
  const images = s.n - n0;
  const xFloats = images * s.h * s.w * s.ci;
  const yFloats = images * s.oh * s.ow * s.co;
  const scratch = s.ci * 4 + s.kh * s.kw * Math.ceil(s.co / 8);
  const { offsets, end } = layout([xFloats * 4, filter.byteLength, bias ? bias.byteLength : 0, scratch, yFloats * 4]);
  if (!ensure(h, end)) return null;
  const [xo, fo, bo, so, yo] = offsets;
  const buffer = h.memory.buffer;
  new Float32Array(buffer, xo, xFloats).set(x.subarray(n0 * s.h * s.w * s.ci));
  new Float32Array(buffer, fo, filter.length).set(filter);
  if (bias) new Float32Array(buffer, bo, bias.length).set(bias);
  helperCalls.convolution++;
  const wait = post(h, 2, [
    xo,
    fo,
    bias ? bo : 0,
    yo,
    so,
    images,
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
  ]);
  return (y) => {
    if (!wait()) return false;
    y().set(new Float32Array(h.memory.buffer, yo, yFloats), n0 * s.oh * s.ow * s.co);
    return true;
  };
}
