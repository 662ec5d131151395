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
 * Kernels work on TensorInfo and call other wasm kernels directly, so nothing passes through the
 * engine and no tensor is tracked twice; every intermediate is released with disposeData.
 */
import type * as tf from '@tensorflow/tfjs';
import { bundledTf } from '../tf';

type Backend = tf.KernelBackend & { disposeData(dataId: object, force?: boolean): boolean };
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
    const pad: Pad2D = [[0, 0], [top, Math.max(bottom, 0)], [left, Math.max(right, 0)], [0, 0]];
    const grad = run('Conv2D', backend, { x: xT, filter: dyT }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw] });
    temps.push(grad); // [ci, kh, kw, co]
    return run('Transpose', backend, { x: grad }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * Gradient of conv2d with respect to its input, as one XNNPACK conv: for stride s the output
 * gradient is first dilated (s-1 zeros between rows and columns, by reshape + pad), then correlated
 * with the spatially flipped, in/out-swapped filter.
 */
export function conv2dBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
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
      const padded = run('PadV2', backend, { x: expanded }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
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
    const pad: Pad2D = [[0, 0], [top, Math.max(bottom, 0)], [left, Math.max(right, 0)], [0, 0]];
    return run('Conv2D', backend, { x: grad, filter: swapped }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

let registered = false;

/**
 * Registers the project's training kernels on the wasm backend (idempotent). The stock
 * Conv2DBackpropInput is kept for NCHW, which Layers models in NHWC never use.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (!bundledTf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    bundledTf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc });
  }
  const stock = bundledTf.getKernel('Conv2DBackpropInput', 'wasm');
  if (stock) {
    const stockFunc = stock.kernelFunc;
    bundledTf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    bundledTf.registerKernel({
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      setupFunc: stock.setupFunc,
      kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }) =>
        (args.attrs as unknown as ConvGradAttrs).dataFormat === 'NCHW' ? stockFunc(args as Parameters<tf.KernelFunc>[0]) : conv2dBackpropInput(args)) as unknown as tf.KernelFunc,
    });
  }
}
