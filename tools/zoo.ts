/**
 * Architectures the project trains and ships. Each is a plain tfjs Layers model, NHWC, inputs in
 * [0, 1]; BatchNorm uses PyTorch's conventions (momentum 0.1 there = 0.9 here, eps 1e-5) so that
 * the PyTorch reference and training scripts compute exactly what the engine computes.
 *
 * Weights of `smallCnn`, named conv{i}/kernel [3,3,in,out], bn{i}/{gamma,beta,moving_mean,
 * moving_variance} [out], logits/{kernel [c,classes], bias [classes]}. model.getWeights() lists
 * every trainable weight in layer order first, then the BatchNorm statistics; match by name.
 */
import { tf } from '../src/engine/core/tf';
import type * as tfTypes from '@tensorflow/tfjs';

export interface SmallCnnSpec {
  inputShape: [number, number, number];
  numClasses: number;
  /** Channels of the first block; blocks are [w, 2w (stride 2), 2w, 4w (stride 2)]. */
  width: number;
}

export const SMALL_CNN_BLOCKS = (width: number): Array<{ filters: number; strides: number }> => [
  { filters: width, strides: 1 },
  { filters: 2 * width, strides: 2 },
  { filters: 2 * width, strides: 1 },
  { filters: 4 * width, strides: 2 },
];

export function smallCnn(spec: SmallCnnSpec, name = 'small_cnn'): tfTypes.Sequential {
  const model = tf.sequential({ name });
  SMALL_CNN_BLOCKS(spec.width).forEach((block, i) => {
    model.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: spec.inputShape } : {}),
        name: `conv${i + 1}`,
        filters: block.filters,
        kernelSize: 3,
        strides: block.strides,
        padding: 'same',
        useBias: false,
      }),
    );
    model.add(tf.layers.batchNormalization({ name: `bn${i + 1}`, momentum: 0.9, epsilon: 1e-5 }));
    model.add(tf.layers.reLU({ name: `relu${i + 1}` }));
  });
  model.add(tf.layers.globalAveragePooling2d({ name: 'pool' }));
  model.add(tf.layers.dense({ name: 'logits', units: spec.numClasses }));
  return model;
}

export interface ResNetSpec {
  inputShape: [number, number, number];
  numClasses: number;
  /** 6n + 2: 8, 14, 20, ... (n BasicBlocks per stage). */
  depth: number;
  /** Channels of the stem and the first stage; the stages have w, 2w, 4w. */
  width: number;
}

/**
 * CIFAR-style ResNet (He et al. 2016) for small images: stem conv3x3 → BN → ReLU; three stages of n
 * BasicBlocks (conv3x3 → BN → ReLU → conv3x3 → BN, plus the shortcut, then ReLU) with widths w, 2w,
 * 4w and first strides 1, 2, 2; a projection shortcut (1x1 conv with the block's stride → BN) where
 * the shape changes; global average pooling; Dense. The twin of `ResNet` in
 * tools/reference/model.py, which names the same weights: conv1, bn1, s{i}b{j}_conv1, _bn1,
 * _conv2, _bn2, _proj, _proj_bn, logits.
 */
export function resNet(spec: ResNetSpec, name = 'resnet'): tfTypes.LayersModel {
  if (spec.depth < 8 || (spec.depth - 2) % 6 !== 0) throw new Error(`ResNet depth must be 6n + 2 (8, 14, 20, ...), got ${spec.depth}.`);
  const n = (spec.depth - 2) / 6;
  type Sym = tfTypes.SymbolicTensor;
  const conv = (x: Sym, filters: number, kernelSize: number, strides: number, layerName: string): Sym =>
    tf.layers.conv2d({ name: layerName, filters, kernelSize, strides, padding: 'same', useBias: false }).apply(x) as Sym;
  const bn = (x: Sym, layerName: string): Sym => tf.layers.batchNormalization({ name: layerName, momentum: 0.9, epsilon: 1e-5 }).apply(x) as Sym;
  const relu = (x: Sym, layerName: string): Sym => tf.layers.reLU({ name: layerName }).apply(x) as Sym;

  const input = tf.input({ shape: spec.inputShape, name: 'image' });
  let x = relu(bn(conv(input, spec.width, 3, 1, 'conv1'), 'bn1'), 'relu1');
  let channels = spec.width;
  [spec.width, 2 * spec.width, 4 * spec.width].forEach((filters, s) => {
    for (let j = 1; j <= n; j++) {
      const b = `s${s + 1}b${j}`;
      const strides = j === 1 && s > 0 ? 2 : 1;
      let h = relu(bn(conv(x, filters, 3, strides, `${b}_conv1`), `${b}_bn1`), `${b}_relu1`);
      h = bn(conv(h, filters, 3, 1, `${b}_conv2`), `${b}_bn2`);
      const shortcut = strides !== 1 || channels !== filters ? bn(conv(x, filters, 1, strides, `${b}_proj`), `${b}_proj_bn`) : x;
      x = relu(tf.layers.add({ name: `${b}_add` }).apply([h, shortcut]) as Sym, `${b}_relu`);
      channels = filters;
    }
  });
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as Sym;
  const logits = tf.layers.dense({ name: 'logits', units: spec.numClasses }).apply(pooled) as Sym;
  return tf.model({ inputs: input, outputs: logits, name });
}
