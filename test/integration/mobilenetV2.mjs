#!/usr/bin/env node
// A MobileNetV2-sized TensorFlow.js Layers model (224×224×3 input, width 1.0, the 17 inverted
// residual blocks of MobileNetV2, then a 256-unit dense layer and 5 classes: about 2.6M parameters,
// the size of the MobileNetV2 that npm `nsfwjs` ships), with random weights, written as model.json +
// weights.bin. The inspector's open time is measured on it (the package itself is 42 MB unpacked,
// most of it an Inception model we do not need).
//
//   node test/integration/mobilenetV2.mjs <output folder>
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');

/** [expansion t, output channels c, repeats n, first stride s] of each MobileNetV2 stage. */
const STAGES = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export function mobilenetV2({ size = 224, classes = 5, hidden = 256, seed = 1 } = {}) {
  let n = 0;
  const init = () => tf.initializers.glorotUniform({ seed: seed + n++ });
  const bn = (x, name) => tf.layers.batchNormalization({ name: `${name}_BN` }).apply(x);
  const relu6 = (x, name) => tf.layers.reLU({ maxValue: 6, name: `${name}_relu` }).apply(x);
  const conv = (x, filters, kernel, strides, name) =>
    tf.layers.conv2d({ filters, kernelSize: kernel, strides, padding: 'same', useBias: false, kernelInitializer: init(), name }).apply(x);
  const input = tf.input({ shape: [size, size, 3], name: 'input' });
  let x = relu6(bn(conv(input, 32, 3, 2, 'Conv1'), 'Conv1'), 'Conv1');
  let channels = 32;
  let block = 0;
  for (const [t, c, repeats, s] of STAGES) {
    for (let i = 0; i < repeats; i++) {
      const name = `block_${block++}`;
      const strides = i === 0 ? s : 1;
      let y = x;
      if (t !== 1) y = relu6(bn(conv(y, channels * t, 1, 1, `${name}_expand`), `${name}_expand`), `${name}_expand`);
      y = tf.layers
        .depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: init(), name: `${name}_depthwise` })
        .apply(y);
      y = relu6(bn(y, `${name}_depthwise`), `${name}_depthwise`);
      y = bn(conv(y, c, 1, 1, `${name}_project`), `${name}_project`);
      x = strides === 1 && channels === c ? tf.layers.add({ name: `${name}_add` }).apply([x, y]) : y;
      channels = c;
    }
  }
  x = relu6(bn(conv(x, 1280, 1, 1, 'Conv_1'), 'Conv_1'), 'Conv_1');
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  x = tf.layers.dense({ units: hidden, activation: 'relu', kernelInitializer: init(), name: 'dense_hidden' }).apply(x);
  const output = tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(), name: 'predictions' }).apply(x);
  return tf.model({ inputs: input, outputs: output, name: 'mobilenet_v2_fixture' });
}

export async function writeMobilenetV2(dir) {
  await tf.setBackend('cpu');
  const model = mobilenetV2();
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(a.weightData));
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const parameters = model.countParams();
  model.dispose();
  return { modelJson: path.join(dir, 'model.json'), parameters, layers: model.layers.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node test/integration/mobilenetV2.mjs <output folder>');
    process.exit(2);
  }
  const t0 = Date.now();
  const r = await writeMobilenetV2(dir);
  console.log(JSON.stringify({ ...r, seconds: (Date.now() - t0) / 1000 }));
}
