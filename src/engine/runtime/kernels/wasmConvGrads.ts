/**
 * Training kernels for the WASM backend.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, so a conv net cannot train on it, and its
 * Conv2DBackpropInput is a scalar loop (~11x the cost of the forward conv). Both gradients are
 * convolutions themselves, so we express them as the backend's own XNNPACK Conv2D:
 *
 *   dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[n,oh,ow,co]
 *     = conv2d(x^T [ci,H,W,n], dy^T [OH,OW,n,co], dilation = s)  -> [ci,KH,KW,co] -> [KH,KW,ci,co]
 *
 *   dx = conv2d(dy padded by (K-1-p), flip_hw(W) with in/out swapped)   (stride 1)
 *
 *   stride s > 1: polyphase. Each of the s*s interleaved phases of dx is a stride-1 correlation of
 *   dy with the filter taps of that parity, so one conv with s*s*ci output channels and
 *   ceil(K/s)-tap sub-filters computes them all; a reshape + transpose interleaves them.
 *
 * Kernels work on TensorInfo and call other wasm kernels directly, so nothing passes through the
 * engine and no tensor is tracked twice; every intermediate is released with disposeData.
 *
 * The filter gradient, the input gradients' inner stride-1 convolution and the forward Conv2D /
 * FusedConv2D run on the project's SIMD kernels (simdConv.ts, native/conv.c) when they can bind
 * to the backend's memory: same sums in the same order as the XNNPACK convolutions written out
 * here (which remain the fallback), so the same results, 2-4x faster for the filter gradient.
 */
import type * as tf from '@tensorflow/tfjs';
import { bundledTf } from '../../core/tf';
import { batchNormPass, columnSums, convolution, filterGradient, simdKernels, type WasmBackend } from './simdConv';
import { BATCH_NORM_KERNELS, setBatchNormFusion } from '../../core/batchNormOps';

type Backend = tf.KernelBackend & {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
};
type Pad2D = [[number, number], [number, number], [number, number], [number, number]];

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | Pad2D;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

function kernel(name: string): tf.KernelFunc {
  const config = bundledTf.getKernel(name, 'wasm');
  if (!config) throw new Error(`WASM kernel ${name} is missing; the wasm backend must be registered first.`);
  return config.kernelFunc;
}

function run(name: string, backend: Backend, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  return kernel(name)({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvGradAttrs): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error('Unlearn Lens WASM training kernels support NHWC (channelsLast) only.');
  return bundledTf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * A stride-1 convolution with explicit padding (the input gradients' inner conv): the project's
 * SIMD kernel when it can run, else XNNPACK's Conv2D. Both sum in the same order (equal results).
 */
function stride1Conv(backend: Backend, x: tf.TensorInfo, filter: tf.TensorInfo, pad: Pad2D): tf.TensorInfo {
  const simd = simdKernels(backend);
  if (!simd) return run('Conv2D', backend, { x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] });
  const [n, h, w, ci] = x.shape;
  const [kh, kw, , co] = filter.shape;
  const [, [top, bottom], [left, right]] = pad;
  const shape = { n, h, w, ci, oh: h + top + bottom - kh + 1, ow: w + left + right - kw + 1, co, kh, kw, sh: 1, sw: 1, dh: 1, dw: 1, pt: top, pl: left };
  return convolution(simd, backend as unknown as WasmBackend, x, filter, null, shape);
}

/** Gradient of conv2d with respect to its filter, for any stride and padding. */
export function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as Backend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs;
  const info = convInfo(x.shape, attrs.filterShape!, attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Padding after the input so that the "valid" output is exactly kh x kw; a negative value means
  // the last input rows/cols never reach a window and are cropped instead.
  const bottom = kh + (oh - 1) * sh - h - top;
  const right = kw + (ow - 1) * sw - w - left;

  const simd = simdKernels(backend);
  if (simd) {
    const [n, , , ci] = x.shape;
    const co = dy.shape[3];
    return filterGradient(simd, backend as unknown as WasmBackend, x, dy, { n, h, w, ci, oh, ow, co, kh, kw, sh, sw, pt: top, pl: left });
  }
  const temps: tf.TensorInfo[] = [];
  try {
    let xT = run('Transpose', backend, { x }, { perm: [3, 1, 2, 0] }); // [ci, H, W, n]
    temps.push(xT);
    if (bottom < 0 || right < 0) {
      const cropped = run('Slice', backend, { x: xT }, { begin: [0, 0, 0, 0], size: [-1, h + Math.min(bottom, 0), w + Math.min(right, 0), -1] });
      temps.push(cropped);
      xT = cropped;
    }
    const dyT = run('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]
    temps.push(dyT);
    const pad: Pad2D = [
      [0, 0],
      [top, Math.max(bottom, 0)],
      [left, Math.max(right, 0)],
      [0, 0],
    ];
    const grad = run('Conv2D', backend, { x: xT, filter: dyT }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw] });
    temps.push(grad); // [ci, kh, kw, co]
    return run('Transpose', backend, { x: grad }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * Gradient of conv2d with respect to its input, as one XNNPACK conv (any stride; used for stride 1
 * and kept as the reference path): for stride s the output gradient is first dilated (s-1 zeros
 * between rows and columns, by reshape + pad), then correlated with the spatially flipped,
 * in/out-swapped filter. For s = 2 three quarters of the dilated input are zeros.
 */
export function conv2dBackpropInputDilated(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as Backend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs;
  const info = convInfo(attrs.inputShape!, filter.shape, attrs);
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const [n, , , co] = dy.shape;
  const temps: tf.TensorInfo[] = [];
  try {
    let grad = dy;
    if (sh > 1 || sw > 1) {
      const expanded = run('Reshape', backend, { x: dy }, { shape: [n, oh, 1, ow, 1, co] });
      temps.push(expanded);
      const padded = run(
        'PadV2',
        backend,
        { x: expanded },
        {
          paddings: [
            [0, 0],
            [0, 0],
            [0, sh - 1],
            [0, 0],
            [0, sw - 1],
            [0, 0],
          ],
          constantValue: 0,
        },
      );
      temps.push(padded);
      grad = run('Reshape', backend, { x: padded }, { shape: [n, oh * sh, ow * sw, co] });
      temps.push(grad);
    }
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = h + kh - 1 - top - oh * sh;
    const right = w + kw - 1 - left - ow * sw;
    if (bottom < 0 || right < 0) {
      const cropped = run('Slice', backend, { x: grad }, { begin: [0, 0, 0, 0], size: [-1, oh * sh + Math.min(bottom, 0), ow * sw + Math.min(right, 0), -1] });
      temps.push(cropped);
      grad = cropped;
    }
    const flipped = run('Reverse', backend, { x: filter }, { dims: [0, 1] });
    temps.push(flipped);
    const swapped = run('Transpose', backend, { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh, kw, co, ci]
    temps.push(swapped);
    const pad: Pad2D = [
      [0, 0],
      [top, Math.max(bottom, 0)],
      [left, Math.max(right, 0)],
      [0, 0],
    ];
    return stride1Conv(backend, grad, swapped, pad);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * One spatial axis of the polyphase (sub-pixel) input gradient. In padded input coordinates
 * i' = i + p, a row i' = q*s + r (phase r) receives dy[o] * W[k] exactly when k = r + m*s and
 * o = q - m, so phase r is a stride-1 correlation of dy with the taps of parity r:
 *
 *   dx'[q*s + r] = sum_{m < M} dy[q - m] * W[r + m*s]     (M = ceil(K/s); taps past K are zero)
 *                = sum_{t < M} dy[q - (M-1) + t] * Wr[M-1-t]
 *
 * Rows q0..q1-1 cover i' in [p, p+H): q0 = floor(p/s), q1 = ceil((p+H)/s). The conv pads dy by
 * M-1-q0 before (a negative amount is a crop) and by whatever makes the output q1-q0 long after;
 * the interleaved result is then cropped from p - q0*s, H long.
 */
interface PhaseAxis {
  taps: number; // M
  rows: number; // q1 - q0: the conv's output length along this axis
  cropStart: number; // dy rows to skip (when the pad before would be negative)
  cropSize: number; // dy rows kept
  padBefore: number;
  padAfter: number;
  offset: number; // p - q0*s: where dx starts in the interleaved rows
}

function phaseAxis(size: number, outSize: number, kernelSize: number, stride: number, padBefore: number): PhaseAxis {
  const taps = Math.ceil(kernelSize / stride);
  const q0 = Math.floor(padBefore / stride);
  const q1 = Math.ceil((padBefore + size) / stride);
  const rows = q1 - q0;
  let before = taps - 1 - q0;
  const cropStart = Math.max(0, -before);
  before = Math.max(0, before);
  // Output length = kept + before + after - taps + 1 must equal rows.
  let after = rows + taps - 1 - before - (outSize - cropStart);
  const cropSize = outSize - cropStart + Math.min(0, after);
  after = Math.max(0, after);
  return { taps, rows, cropStart, cropSize, padBefore: before, padAfter: after, offset: padBefore - q0 * stride };
}

/**
 * The combined filter [Mh, Mw, co, sh*sw*ci]: output channel (rh*sw + rw)*ci + c is phase
 * (rh, rw)'s sub-filter, flipped, with in/out swapped:
 *   F[th, tw, o, (rh*sw + rw)*ci + c] = W[rh + (Mh-1-th)*sh, rw + (Mw-1-tw)*sw, c, o]  (0 past K)
 * Written straight into the wasm heap: filters are small next to the activations.
 */
function phaseFilter(backend: Backend, filter: tf.TensorInfo, sh: number, sw: number, mh: number, mw: number): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const phases = sh * sw;
  const info = backend.makeOutput([mh, mw, co, phases * ci], 'float32');
  // Views on the wasm heap, taken after the allocation (growing the heap detaches older views).
  const out = backend.typedArrayFromHeap(info);
  out.fill(0);
  const src = backend.typedArrayFromHeap(filter);
  for (let th = 0; th < mh; th++) {
    for (let rh = 0; rh < sh; rh++) {
      const y = rh + (mh - 1 - th) * sh;
      if (y >= kh) continue;
      for (let tw = 0; tw < mw; tw++) {
        for (let rw = 0; rw < sw; rw++) {
          const x = rw + (mw - 1 - tw) * sw;
          if (x >= kw) continue;
          const phaseBase = (rh * sw + rw) * ci;
          const srcBase = (y * kw + x) * ci * co;
          const dstBase = (th * mw + tw) * co * phases * ci;
          for (let c = 0; c < ci; c++) {
            for (let o = 0; o < co; o++) out[dstBase + o * phases * ci + phaseBase + c] = src[srcBase + c * co + o];
          }
        }
      }
    }
  }
  return info;
}

/**
 * Gradient of conv2d with respect to its input for stride > 1, polyphase: the s_h*s_w phases of
 * dx are stride-1 correlations of dy with sub-filters of ceil(K/s) taps, computed as ONE XNNPACK
 * conv with s_h*s_w*ci output channels, then interleaved (reshape + transpose, phase-major
 * channels) and cropped. For a 3x3 stride-2 conv that is 16 multiply-adds per (ci, co, dy pixel)
 * against 36 for the dilated form, and no 4x-sized zero-dilated copy of dy.
 */
export function conv2dBackpropInputPolyphase(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as Backend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs;
  const info = convInfo(attrs.inputShape!, filter.shape, attrs);
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const [n, , , ci] = attrs.inputShape!;
  const ay = phaseAxis(h, oh, kh, sh, info.padInfo.top);
  const ax = phaseAxis(w, ow, kw, sw, info.padInfo.left);
  // Padding so large that no dy row reaches dx: leave that oddity to the dilated form.
  if (ay.cropSize < 1 || ax.cropSize < 1) return conv2dBackpropInputDilated(args);
  const temps: tf.TensorInfo[] = [];
  try {
    let src = dy;
    if (ay.cropStart > 0 || ax.cropStart > 0 || ay.cropSize < oh || ax.cropSize < ow) {
      src = run('Slice', backend, { x: dy }, { begin: [0, ay.cropStart, ax.cropStart, 0], size: [-1, ay.cropSize, ax.cropSize, -1] });
      temps.push(src);
    }
    const combined = phaseFilter(backend, filter, sh, sw, ay.taps, ax.taps);
    temps.push(combined);
    const pad: Pad2D = [
      [0, 0],
      [ay.padBefore, ay.padAfter],
      [ax.padBefore, ax.padAfter],
      [0, 0],
    ];
    const phases = stride1Conv(backend, src, combined, pad);
    temps.push(phases); // [n, rowsH, rowsW, sh*sw*ci], channel (rh*sw + rw)*ci + c
    // [n*rowsH, rowsW, sh, sw*ci] -> [n*rowsH, sh, rowsW, sw*ci] = [n, rowsH*sh, rowsW*sw, ci]
    const split = run('Reshape', backend, { x: phases }, { shape: [n * ay.rows, ax.rows, sh, sw * ci] });
    temps.push(split);
    const moved = run('Transpose', backend, { x: split }, { perm: [0, 2, 1, 3] });
    temps.push(moved);
    const full = run('Reshape', backend, { x: moved }, { shape: [n, ay.rows * sh, ax.rows * sw, ci] });
    if (ay.offset === 0 && ax.offset === 0 && ay.rows * sh === h && ax.rows * sw === w) return full;
    temps.push(full);
    return run('Slice', backend, { x: full }, { begin: [0, ay.offset, ax.offset, 0], size: [n, h, w, ci] });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** Gradient of conv2d with respect to its input (NHWC): polyphase for stride > 1. */
export function conv2dBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const attrs = args.attrs as unknown as ConvGradAttrs;
  const info = convInfo(attrs.inputShape!, (args.inputs as { filter: tf.TensorInfo }).filter.shape, attrs);
  if ((info.strideHeight > 1 || info.strideWidth > 1) && info.dilationHeight === 1 && info.dilationWidth === 1) return conv2dBackpropInputPolyphase(args);
  return conv2dBackpropInputDilated(args);
}

interface ConvForwardAttrs extends ConvGradAttrs {
  dilations: number | [number, number];
  activation?: string;
}

/**
 * Conv2D / FusedConv2D (bias, ReLU) through the project's SIMD kernel; `stock` (XNNPACK) for what
 * it does not cover: NCHW, dilation, other activations, a PReLU or a bias that is not one value
 * per channel, and inputs of fewer than 4 channels (a first layer, where XNNPACK is faster).
 * The sums are XNNPACK's, in its order: the results are the same either way.
 */
function convForward(args: KernelArgs, stock: tf.KernelFunc): tf.TensorInfo {
  const backend = args.backend as Backend;
  const attrs = args.attrs as unknown as ConvForwardAttrs;
  const { x, filter, bias, preluActivationWeights } = args.inputs as {
    x: tf.TensorInfo;
    filter: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const activation = attrs.activation ?? 'linear';
  const simd = simdKernels(backend);
  const co = filter.shape[3];
  const plain =
    attrs.dataFormat !== 'NCHW' &&
    (activation === 'linear' || activation === 'relu') &&
    !preluActivationWeights &&
    (!bias || bias.shape.reduce((a, b) => a * b, 1) === co);
  if (!simd || !plain || x.shape.length !== 4 || x.shape[3] < 4) return stock(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const info = bundledTf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad as 'valid',
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return stock(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const shape = {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    co,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: 1,
    dw: 1,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  };
  return convolution(simd, backend as unknown as WasmBackend, x, filter, bias ?? null, shape, activation === 'relu');
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** Replaces a registered wasm kernel by `wrap(stock)`, keeping its set-up. */
function override(name: string, wrap: (stock: tf.KernelFunc) => (args: KernelArgs) => tf.TensorInfo): void {
  const stock = bundledTf.getKernel(name, 'wasm');
  if (!stock) return;
  bundledTf.unregisterKernel(name, 'wasm');
  bundledTf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: wrap(stock.kernelFunc) as unknown as tf.KernelFunc,
  });
}

let registered = false;

/**
 * Registers the project's training kernels on the wasm backend (idempotent), and its SIMD
 * forward convolution. The stock Conv2DBackpropInput is kept for NCHW, which Layers models in NHWC
 * never use; the stock Conv2D / FusedConv2D for what convForward does not cover.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (!bundledTf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    bundledTf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc });
  }
  override(
    'Conv2DBackpropInput',
    (stock) => (args) =>
      (args.attrs as unknown as ConvGradAttrs).dataFormat === 'NCHW'
        ? (stock(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo)
        : conv2dBackpropInput(args),
  );
  registerBatchNormKernels();
  override('Conv2D', (stock) => (args) => convForward(args, stock));
  override('FusedConv2D', (stock) => (args) => convForward(args, stock));
}

/**
 * Inputs of each fused BatchNorm pass, in the C function's order, and how many of them (the first)
 * are [rows, c] matrices; the others are per-channel vectors of c values.
 */
const BATCH_NORM_INPUTS = {
  centeredSquareSums: { names: ['x', 'mean'], matrices: 1 },
  normalize: { names: ['x', 'mean', 'rstd', 'gamma', 'beta'], matrices: 1 },
  columnSumsOfProduct: { names: ['a', 'b'], matrices: 2 },
  inputGradient: { names: ['dy', 'xhat', 'meanDy', 'meanDyXhat', 'scale'], matrices: 2 },
} as const;

/**
 * BatchNorm's passes (core/batchNormOps.ts) as wasm kernels: the SIMD ones (bit for bit the ops
 * they stand for). core/batchNormOps.ts runs them only while the SIMD module is on and binds to
 * the backend's memory (setBatchNormFusion), else the ops themselves; when a pass meets something
 * it does not expect (another dtype, a per-channel vector of another
 * length), it throws rather than guess: the engine's BatchNorm gives it only float32 [rows, c]
 * and [c] or [1, c].
 */
function registerBatchNormKernels(): void {
  // The ops run unfused on wasm when the SIMD module is off or cannot bind (useSimdConv(false)).
  setBatchNormFusion(() => bundledTf.getBackend() !== 'wasm' || simdKernels(bundledTf.backend()) !== null);
  const check = (name: string, inputs: tf.TensorInfo[], matrices: number) => {
    const c = inputs[0].shape[inputs[0].shape.length - 1];
    for (const [i, t] of inputs.entries()) {
      const size = t.shape.reduce((a, b) => a * b, 1);
      const ok = t.dtype === 'float32' && (i < matrices ? t.shape.length === 2 && t.shape[1] === c && size === inputs[0].shape[0] * c : size === c);
      if (!ok) throw new Error(`${name}: input ${i} has shape [${t.shape}] (${t.dtype}); expected float32 ${i < matrices ? `[rows, ${c}]` : `${c} values`}.`);
    }
  };
  const simdOrThrow = (backend: tf.KernelBackend, name: string) => {
    const simd = simdKernels(backend);
    if (!simd) throw new Error(`${name} needs the SIMD kernels, which could not bind to the wasm backend.`);
    return simd;
  };
  bundledTf.registerKernel({
    kernelName: BATCH_NORM_KERNELS.columnSums,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const { x } = inputs as { x: tf.TensorInfo };
      check(BATCH_NORM_KERNELS.columnSums, [x], 1);
      return columnSums(simdOrThrow(backend, BATCH_NORM_KERNELS.columnSums), backend as unknown as WasmBackend, x);
    }) as unknown as tf.KernelFunc,
  });
  for (const kind of Object.keys(BATCH_NORM_INPUTS) as Array<keyof typeof BATCH_NORM_INPUTS>) {
    const name = BATCH_NORM_KERNELS[kind];
    const { names, matrices } = BATCH_NORM_INPUTS[kind];
    bundledTf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: (({ inputs, backend }: KernelArgs) => {
        const list = names.map((n) => (inputs as Record<string, tf.TensorInfo>)[n]);
        check(name, list, matrices);
        const outs = batchNormPass(simdOrThrow(backend, name), backend as unknown as WasmBackend, kind, list);
        return outs.length === 1 ? outs[0] : outs;
      }) as unknown as tf.KernelFunc,
    });
  }
}
