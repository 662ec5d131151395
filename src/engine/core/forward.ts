/**
 * A forward pass over a Layers model's graph, written with plain tfjs ops, for the layer types
 * image classifiers use. Why not `model.apply`:
 *
 * - tfjs-layers runs convolutions through `tf.fused.conv2d`, whose custom gradient computes the
 *   filter gradient even when only the input gradient is asked for: PGD paid a full
 *   Conv2DBackpropFilter per layer per step for nothing.
 * - BatchNorm in training mode must match the reference (PyTorch): normalise with the biased batch
 *   variance, but move the running variance toward the *unbiased* one. tfjs-layers uses the biased
 *   one for both.
 *
 * Models with any other layer type fall back to `model.apply` (see `compileForward`).
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { centeredSquareSums, columnSums, columnSumsOfProduct, inputGradient, normalize } from './batchNormOps';

type Tensor = tfTypes.Tensor;

// Narrow views of tfjs-layers internals that are not in its public typings.
interface SymbolicTensorLike {
  sourceLayer: LayerLike;
  nodeIndex: number;
  tensorIndex: number;
  id: number;
}
interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  weights: Array<{ originalName: string; read(): tfTypes.Variable }>;
  inboundNodes: Array<{ inputTensors: SymbolicTensorLike[] }>;
}
interface ContainerLike {
  inputs: SymbolicTensorLike[];
  outputs: SymbolicTensorLike[];
}

/**
 * `training`: BatchNorm on batch statistics (and moving averages updated). `frozen` (inference only):
 * the caller differentiates with respect to the input alone, never the weights (PGD, checks,
 * evaluation), so each Conv2D → BatchNorm (→ ReLU) runs as one fused convolution with BatchNorm
 * folded into its filter and bias, and its backward pass computes the input gradient only.
 */
export type ForwardFn = (x: Tensor, training: boolean, frozen?: boolean) => Tensor;

const ACTIVATIONS: Record<string, (t: Tensor) => Tensor> = {
  linear: (t) => t,
  relu: (t) => tf.relu(t),
  relu6: (t) => tf.relu6(t),
  sigmoid: (t) => tf.sigmoid(t),
  tanh: (t) => tf.tanh(t),
  elu: (t) => tf.elu(t),
  softmax: (t) => tf.softmax(t),
  swish: (t) => tf.mul(t, tf.sigmoid(t)),
};

function weight(layer: LayerLike, suffix: string): tfTypes.Variable | undefined {
  return layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`))?.read();
}

function activation(name: unknown): ((t: Tensor) => Tensor) | undefined {
  return ACTIVATIONS[typeof name === 'string' ? name : 'linear'];
}

type LayerFn = (inputs: Tensor[], training: boolean) => Tensor;

/** A linear op, then the layer's bias and activation (Conv2D, DepthwiseConv2D, Dense). */
function affine(layer: LayerLike, config: Record<string, unknown>, op: (x: Tensor) => Tensor): LayerFn | undefined {
  const bias = weight(layer, 'bias');
  const act = activation(config.activation);
  if (!act) return undefined;
  return ([x]) => act(bias ? tf.add(op(x), bias) : op(x));
}

/**
 * BatchNorm on batch statistics, with its closed-form backward pass,
 *   dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
 * Statistics are computed inside (so autodiff never walks back through `moments`). The full-size
 * passes are batchNormOps.ts's: per-channel sums as a matMul of ones [n, 1] (transposed) with
 * [n, C] (wasm reduces over leading axes by transposing first, which cost more than the
 * convolutions; with transposeA the wasm matMul takes its plain loop rather than XNNPACK's
 * fully-connected operator, which repacks the fresh [n, C] operand as weights on every call, ~20 ms
 * at n = 250880, C = 16, against ~3 ms), and on wasm each pass fused into one SIMD kernel with the
 * same results bit for bit. `onStats` receives the batch mean and biased
 * variance (for the running statistics).
 */
function batchNormTraining(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number, onStats: (mean: Tensor, variance: Tensor) => void): Tensor {
  const channels = x.shape[x.rank - 1];
  const n = x.size / channels;
  const f = tf.customGrad((...args: unknown[]) => {
    const [xs, g, b] = args as Tensor[];
    const save = args[3] as (tensors: Tensor[]) => void;
    const flat = tf.reshape(xs, [n, channels]) as tfTypes.Tensor2D;
    const mean = tf.div(columnSums(flat), n);
    const variance = tf.div(centeredSquareSums(flat, mean), n);
    onStats(tf.reshape(mean, [channels]), tf.reshape(variance, [channels]));
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const [xhat, y] = normalize(flat, mean, rstd, g, b);
    save([xhat, rstd, g]);
    return {
      value: tf.reshape(y, xs.shape),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xh, r, gm] = saved as [tfTypes.Tensor2D, Tensor, Tensor];
        const grad = tf.reshape(dy as Tensor, [n, channels]) as tfTypes.Tensor2D;
        const sumDy = columnSums(grad);
        const sumDyXhat = columnSumsOfProduct(grad, xh);
        const dx = inputGradient(grad, xh, tf.div(sumDy, n), tf.div(sumDyXhat, n), tf.mul(gm, r));
        return [tf.reshape(dx, xs.shape), tf.reshape(sumDyXhat, [channels]), tf.reshape(sumDy, [channels])];
      },
    };
  });
  return f(x, gamma, beta);
}

interface FoldedConv {
  kernel: tfTypes.Variable;
  bias?: tfTypes.Variable;
  strides: [number, number];
  padding: 'same' | 'valid';
  gamma?: tfTypes.Variable;
  beta?: tfTypes.Variable;
  movingMean: tfTypes.Variable;
  movingVariance: tfTypes.Variable;
  epsilon: number;
  relu: boolean;
}

/**
 * Conv2D → BatchNorm (inference) → optional ReLU as one fused convolution: filter·s and bias
 * (b − μ)·s + β with s = γ/√(σ² + ε). Its gradient is the input gradient alone (one
 * Conv2DBackpropInput); the folded weights are constants here, which is why only `frozen`
 * forwards use it.
 */
function foldedConv(x: Tensor, f: FoldedConv): Tensor {
  const scale = f.gamma ? tf.mul(f.gamma, tf.rsqrt(tf.add(f.movingVariance, f.epsilon))) : tf.rsqrt(tf.add(f.movingVariance, f.epsilon));
  const centred = f.bias ? tf.sub(f.bias, f.movingMean) : tf.neg(f.movingMean);
  const shift = f.beta ? tf.add(tf.mul(centred, scale), f.beta) : tf.mul(centred, scale);
  const filter = tf.mul(f.kernel, scale) as tfTypes.Tensor4D;
  const op = tf.customGrad((...args: unknown[]) => {
    const xs = args[0] as tfTypes.Tensor4D;
    const save = args[1] as (tensors: Tensor[]) => void;
    const y = tf.fused.conv2d({ x: xs, filter, strides: f.strides, pad: f.padding, bias: shift, activation: f.relu ? 'relu' : 'linear' });
    // The folded filter is kept for the backward pass (the forward's other tensors are freed).
    save([y, filter]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const g = (f.relu ? tf.mul(dy as Tensor, tf.step(saved[0])) : dy) as tfTypes.Tensor4D;
        return [tf.conv2dTranspose(g, saved[1] as tfTypes.Tensor4D, xs.shape, f.strides, f.padding)];
      },
    };
  });
  return op(x);
}

/** How to run one layer, or undefined when this module does not know it. */
function layerFunction(layer: LayerLike): LayerFn | undefined {
  const config = layer.getConfig();
  const cls = layer.getClassName();
  const channelsLast = (config.dataFormat ?? 'channelsLast') === 'channelsLast';
  if (!channelsLast) return undefined;
  switch (cls) {
    case 'Conv2D': {
      const kernel = weight(layer, 'kernel')! as tfTypes.Tensor4D;
      const strides = config.strides as [number, number];
      const dilations = config.dilationRate as number | [number, number];
      const padding = config.padding as 'same' | 'valid';
      return affine(layer, config, (x) => tf.conv2d(x as tfTypes.Tensor4D, kernel, strides, padding, 'NHWC', dilations));
    }
    case 'DepthwiseConv2D': {
      const kernel = weight(layer, 'depthwise_kernel')! as tfTypes.Tensor4D;
      const strides = config.strides as [number, number];
      const dilations = config.dilationRate as [number, number];
      const padding = config.padding as 'same' | 'valid';
      return affine(layer, config, (x) => tf.depthwiseConv2d(x as tfTypes.Tensor4D, kernel, strides, padding, 'NHWC', dilations));
    }
    case 'Dense': {
      const kernel = weight(layer, 'kernel')! as tfTypes.Tensor2D;
      // Keras applies Dense to the last axis of inputs of any rank.
      return affine(layer, config, (x) => {
        const units = kernel.shape[1];
        const flat = tf.reshape(x, [-1, x.shape[x.rank - 1]]) as tfTypes.Tensor2D;
        return tf.reshape(tf.matMul(flat, kernel), [...x.shape.slice(0, -1), units]);
      });
    }
    case 'BatchNormalization': {
      const axis = config.axis as number;
      if (axis !== -1 && axis !== 3 && axis !== 1) return undefined;
      const gamma = weight(layer, 'gamma');
      const beta = weight(layer, 'beta');
      const movingMean = weight(layer, 'moving_mean')!;
      const movingVariance = weight(layer, 'moving_variance')!;
      const epsilon = config.epsilon as number;
      const momentum = config.momentum as number;
      return ([x], training) => {
        if (!training) {
          // As a per-channel scale and shift: the wasm FusedBatchNorm kernel cost more than the
          // convolution before it in inference (PGD, checks, evaluation).
          const scale = gamma ? tf.mul(gamma, tf.rsqrt(tf.add(movingVariance, epsilon))) : tf.rsqrt(tf.add(movingVariance, epsilon));
          const shift = tf.sub(beta ?? tf.scalar(0), tf.mul(movingMean, scale));
          return tf.add(tf.mul(x, scale), shift);
        }
        const n = x.size / x.shape[x.rank - 1];
        const channels = x.shape[x.rank - 1];
        // Running statistics as torch.nn.BatchNorm2d: moved toward the unbiased batch variance.
        const onStats = (mean: Tensor, variance: Tensor) =>
          tf.tidy(() => {
            movingMean.assign(tf.add(tf.mul(movingMean, momentum), tf.mul(mean, 1 - momentum)));
            movingVariance.assign(tf.add(tf.mul(movingVariance, momentum), tf.mul(variance, (1 - momentum) * (n > 1 ? n / (n - 1) : 1))));
          });
        return batchNormTraining(x, gamma ?? tf.ones([channels]), beta ?? tf.zeros([channels]), epsilon, onStats);
      };
    }
    case 'Activation': {
      const act = activation(config.activation);
      return act ? ([x]) => act(x) : undefined;
    }
    case 'ReLU': {
      if (config.maxValue != null) return ([x]) => tf.clipByValue(x, 0, config.maxValue as number);
      return ([x]) => tf.relu(x);
    }
    case 'Flatten':
      return ([x]) => tf.reshape(x, [x.shape[0], -1]);
    case 'GlobalAveragePooling2D':
      return ([x]) => tf.mean(x, [1, 2]);
    case 'GlobalMaxPooling2D':
      return ([x]) => tf.max(x, [1, 2]);
    case 'MaxPooling2D':
      return ([x]) =>
        tf.maxPool(
          x as tfTypes.Tensor4D,
          config.poolSize as [number, number],
          (config.strides ?? config.poolSize) as [number, number],
          config.padding as 'same',
        );
    case 'AveragePooling2D':
      return ([x]) =>
        tf.avgPool(
          x as tfTypes.Tensor4D,
          config.poolSize as [number, number],
          (config.strides ?? config.poolSize) as [number, number],
          config.padding as 'same',
        );
    case 'Add':
      return (inputs) => tf.addN(inputs);
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
      // Identity at inference. Training-time noise is not modelled: such models fall back.
      return undefined;
    case 'ZeroPadding2D': {
      const p = config.padding as [[number, number], [number, number]];
      return ([x]) => tf.pad(x, [[0, 0], p[0], p[1], [0, 0]]);
    }
    case 'Rescaling':
      return ([x]) => tf.add(tf.mul(x, config.scale as number), config.offset as number);
    case 'Reshape':
      return ([x]) => tf.reshape(x, [x.shape[0], ...(config.targetShape as number[])]);
    default:
      return undefined;
  }
}

/**
 * Compiles the model's graph into a function of plain tfjs ops, or returns undefined when some
 * layer is not supported (callers then use `model.apply`, which is correct but slower and keeps
 * tfjs-layers' BatchNorm conventions).
 */
export function compileForward(model: tfTypes.LayersModel): ForwardFn | undefined {
  const container = model as unknown as ContainerLike;
  if (container.inputs?.length !== 1 || container.outputs?.length !== 1) return undefined;
  const input = container.inputs[0];
  const functions = new Map<string, LayerFn>();
  const order: SymbolicTensorLike[] = [];
  const seen = new Set<number>();
  // Depth-first from the output, recording each symbolic tensor after its inputs.
  const visit = (st: SymbolicTensorLike): boolean => {
    if (seen.has(st.id)) return true;
    seen.add(st.id);
    if (st.id === input.id) return true;
    const layer = st.sourceLayer;
    if (layer.inboundNodes.length !== 1 || st.tensorIndex !== 0) return false; // shared or multi-output layers
    if (!functions.has(layer.name)) {
      const fn = layerFunction(layer);
      if (!fn) return false;
      functions.set(layer.name, fn);
    }
    for (const parent of layer.inboundNodes[st.nodeIndex].inputTensors) if (!visit(parent)) return false;
    order.push(st);
    return true;
  };
  if (!visit(container.outputs[0])) return undefined;
  const folds = planFolds(order, input.id, container.outputs[0].id);
  return (x, training, frozen = false) => {
    const useFolds = frozen && !training;
    const values = new Map<number, Tensor>([[input.id, x]]);
    for (const st of order) {
      const inputsOf = st.sourceLayer.inboundNodes[st.nodeIndex].inputTensors;
      if (useFolds) {
        if (folds.skipped.has(st.id)) continue;
        const alias = folds.aliases.get(st.id);
        if (alias !== undefined) {
          values.set(st.id, values.get(alias)!);
          continue;
        }
        const fold = folds.byBatchNorm.get(st.id);
        if (fold) {
          values.set(st.id, foldedConv(values.get(fold.inputId)!, fold.conv));
          continue;
        }
      }
      values.set(
        st.id,
        functions.get(st.sourceLayer.name)!(
          inputsOf.map((p) => values.get(p.id)!),
          training,
        ),
      );
    }
    return values.get(container.outputs[0].id)!;
  };
}

interface FoldPlan {
  /** BatchNorm output id → the conv it absorbs (and that conv's input id). */
  byBatchNorm: Map<number, { inputId: number; conv: FoldedConv }>;
  /** Conv outputs computed inside a fold. */
  skipped: Set<number>;
  /** ReLU output id → the fold's output id (the ReLU ran inside the fold). */
  aliases: Map<number, number>;
}

/** Finds each Conv2D whose only consumer is a BatchNorm on the channel axis (and that BatchNorm's only consumer a plain ReLU). */
function planFolds(order: SymbolicTensorLike[], inputId: number, outputId: number): FoldPlan {
  const plan: FoldPlan = { byBatchNorm: new Map(), skipped: new Set(), aliases: new Map() };
  const inputsOf = (st: SymbolicTensorLike) => st.sourceLayer.inboundNodes[st.nodeIndex].inputTensors;
  const consumers = new Map<number, SymbolicTensorLike[]>();
  for (const st of order) for (const p of inputsOf(st)) consumers.set(p.id, [...(consumers.get(p.id) ?? []), st]);
  const only = (id: number): SymbolicTensorLike | undefined => (id !== outputId && consumers.get(id)?.length === 1 ? consumers.get(id)![0] : undefined);
  for (const st of order) {
    const bn = st.sourceLayer;
    if (bn.getClassName() !== 'BatchNormalization') continue;
    const bnConfig = bn.getConfig();
    if (![-1, 3].includes(bnConfig.axis as number)) continue;
    const src = inputsOf(st)[0];
    if (src.id === inputId || src.sourceLayer.getClassName() !== 'Conv2D' || only(src.id) !== st) continue;
    const conv = src.sourceLayer;
    const c = conv.getConfig();
    const dilation = c.dilationRate as number | [number, number];
    const dilated = Array.isArray(dilation) ? dilation.some((d) => d !== 1) : dilation !== 1;
    if ((c.activation ?? 'linear') !== 'linear' || dilated || (c.dataFormat ?? 'channelsLast') !== 'channelsLast') continue;
    const next = only(st.id);
    const nextConfig = next?.sourceLayer.getConfig();
    const relu =
      next !== undefined &&
      ((next.sourceLayer.getClassName() === 'ReLU' && nextConfig!.maxValue == null) ||
        (next.sourceLayer.getClassName() === 'Activation' && nextConfig!.activation === 'relu'));
    plan.byBatchNorm.set(st.id, {
      inputId: inputsOf(src)[0].id,
      conv: {
        kernel: weight(conv, 'kernel')!,
        bias: weight(conv, 'bias'),
        strides: c.strides as [number, number],
        padding: c.padding as 'same' | 'valid',
        gamma: weight(bn, 'gamma'),
        beta: weight(bn, 'beta'),
        movingMean: weight(bn, 'moving_mean')!,
        movingVariance: weight(bn, 'moving_variance')!,
        epsilon: bnConfig.epsilon as number,
        relu,
      },
    });
    plan.skipped.add(src.id);
    if (relu) plan.aliases.set(next!.id, st.id);
  }
  return plan;
}
