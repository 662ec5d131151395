/**
 * Architectures the project trains and ships. Each is a plain tfjs Layers model, NHWC, inputs in
 * [0, 1]; BatchNorm uses PyTorch's conventions (momentum 0.1 there = 0.9 here, eps 1e-5) so that
 * the PyTorch reference and training scripts compute exactly what the engine computes.
 *
 * Weights of `smallCnn`, named conv{i}/kernel [3,3,in,out], bn{i}/{gamma,beta,moving_mean,
 * moving_variance} [out], logits/{kernel [c,classes], bias [classes]}. model.getWeights() lists
 * every trainable weight in layer order first, then the BatchNorm statistics; match by name.
 */
import { tf } from './tf';
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
