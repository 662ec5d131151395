/**
 * The model contract (src/contracts/modelContract.ts) at load: a Keras-style model that ends in
 * softmax unlearns exactly as its logits twin and its versions keep the softmax; refusals name
 * model.json and the fix.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from '../../src/engine/runtime/backend';
import { captureArtifacts, loadModel, writeModelFiles } from '../../src/engine/data/modelIo';
import { logits } from '../../src/engine/core/modelState';
import { crossEntropy } from '../../src/engine/core/objectives';
import { masImportance } from '../../src/engine/core/importance';
import { targetedL2Pgd } from '../../src/engine/core/attack';
import { predictClasses } from '../../src/engine/core/modelState';
import { runUnlearnRequest } from '../../src/engine/jobs/request';
import type { RunRecord } from '../../src/contracts/protocol';
import { resolveOptions } from '../../src/contracts/options';
import { Rng } from '../../src/engine/core/rng';
import { UserInputError } from '../../src/contracts/errors';
import { engineTopology, checkTopology, modelContractText, ModelContractError } from '../../src/contracts/modelContract';
import { randomForgetSet, tinyModel, useBackend } from './helpers';

before(useBackend);

type Topology = { class_name: string; config: { name: string; layers: Array<{ class_name: string; config: Record<string, unknown> }> } };

/** Writes the tiny model's weights under `topology` (changed by `edit`) as DIR/NAME/model.json. */
async function writeVariant(dir: string, name: string, artifacts: tfTypes.io.ModelArtifacts, edit: (t: Topology) => void = () => {}): Promise<string> {
  const topology = JSON.parse(JSON.stringify(artifacts.modelTopology)) as Topology;
  edit(topology);
  const folder = path.join(dir, name);
  await fs.mkdir(folder, { recursive: true });
  await writeModelFiles({ ...artifacts, modelTopology: topology as unknown as tfTypes.io.ModelArtifacts['modelTopology'] }, folder);
  return path.join(folder, 'model.json');
}

const lastLayer = (t: Topology) => t.config.layers[t.config.layers.length - 1];
const withSoftmaxDense = (t: Topology) => {
  lastLayer(t).config.activation = 'softmax';
};
const withSoftmaxActivation = (t: Topology) => {
  t.config.layers.push({ class_name: 'Activation', config: { name: 'probs', trainable: true, dtype: 'float32', activation: 'softmax' } });
};
const withSoftmaxLayer = (t: Topology) => {
  t.config.layers.push({ class_name: 'Softmax', config: { name: 'probs', trainable: true, dtype: 'float32', axis: -1 } });
};

let tmp: string;
let artifacts: tfTypes.io.ModelArtifacts;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'unlearn-contract-'));
  const m = tinyModel();
  artifacts = await captureArtifacts(m);
  m.dispose();
});

test('a model ending in softmax (Dense, Activation or Softmax) runs on its logits: the same logits, CE, PGD and MAS as its logits twin', async () => {
  const twin = await loadModel(await writeVariant(tmp, 'twin', artifacts));
  assert.equal(twin.contract?.output, 'logits');
  assert.equal(twin.contract?.softmaxStripped, false);
  const forget = randomForgetSet(4);
  const x = tf.tensor4d(forget.images, [4, 8, 8, 1]);
  const y = tf.tensor1d(forget.labels, 'int32');
  const zTwin = logits(twin.model, x, false).arraySync();
  // The twins differ where it matters: TensorFlow.js's own forward pass of the softmax model gives probabilities.
  const rawSoft = await plainLoad(await writeVariant(tmp, 'raw-soft', artifacts, withSoftmaxDense));
  const probs = (rawSoft.predict(x) as tfTypes.Tensor).arraySync() as number[][];
  assert.ok(
    probs.some((row, i) => row.some((p, j) => Math.abs(p - zTwin[i][j]) > 1e-3)),
    'softmax output equals the logits: the test would not see a missed strip',
  );
  rawSoft.dispose();
  const ceTwin = crossEntropy(logits(twin.model, x, false), y).arraySync();
  const masTwin = masImportance(twin.model, x).omega.map((t) => Array.from(t.dataSync()));
  const attack = { epsilon: 1, stepSize: 0.1, steps: 5, examplesPerInstance: 2, chunkSize: 64, workers: 1, randomStart: 'uniform-image' as const };
  const input = { images: forget.images, labels: forget.labels, imageShape: forget.imageShape, numClasses: forget.numClasses, examplesPerInstance: 2 };
  const pgdTwin = await targetedL2Pgd(twin.model, input, resolveOptions({ attack }).attack, new Rng(7));
  for (const [name, edit] of [
    ['dense', withSoftmaxDense],
    ['activation', withSoftmaxActivation],
    ['softmax-layer', withSoftmaxLayer],
  ] as const) {
    const file = await writeVariant(tmp, `softmax-${name}`, artifacts, edit);
    const soft = await loadModel(file);
    assert.equal(soft.contract?.output, 'softmax', name);
    assert.equal(soft.contract?.softmaxStripped, true, name);
    assert.match(modelContractText(soft.contract!), /model ends in softmax; Unlearn Lens works on its logits and saves versions with the softmax kept/);
    const z = logits(soft.model, x, false).arraySync();
    z.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - zTwin[i][j]) < 1e-5, `${name}: logit ${i},${j} ${v} vs ${zTwin[i][j]}`)));
    assert.ok(Math.abs(crossEntropy(logits(soft.model, x, false), y).arraySync() - ceTwin) < 1e-5, `${name}: CE`);
    masImportance(soft.model, x).omega.forEach((t, i) =>
      t.dataSync().forEach((v, j) => assert.ok(Math.abs(v - masTwin[i][j]) < 1e-5, `${name}: MAS ${i},${j}`)),
    );
    const pgd = await targetedL2Pgd(soft.model, input, resolveOptions({ attack }).attack, new Rng(7));
    assert.deepEqual(pgd.targets, pgdTwin.targets);
    pgd.images.forEach((v, i) => assert.ok(Math.abs(v - pgdTwin.images[i]) < 1e-4, `${name}: PGD pixel ${i}`));
    soft.model.dispose();
  }
  twin.model.dispose();
});

/** Loads a version's saved model as TensorFlow.js would (without Unlearn Lens's contract). */
async function plainLoad(modelJson: string): Promise<tfTypes.LayersModel> {
  const json = JSON.parse(await fs.readFile(modelJson, 'utf8'));
  const weights = await fs.readFile(path.join(path.dirname(modelJson), 'weights.bin'));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
}

for (const method of ['naive', 'adv+imp'] as const) {
  test(`${method}: a softmax model unlearns exactly as its logits twin, and its version still ends in softmax`, async () => {
    const dir = await fs.mkdtemp(path.join(tmp, `${method.replace('+', '-')}-`));
    const twinFile = await writeVariant(dir, 'twin', artifacts);
    const softFile = await writeVariant(dir, 'soft', artifacts, withSoftmaxDense);
    const forget = randomForgetSet(4, 3);
    const probe = await loadModel(twinFile);
    forget.labels = await predictClasses(probe.model, forget.images, forget.imageShape);
    probe.model.dispose();
    const options = {
      method,
      learningRate: 0.05,
      maxEpochs: 20,
      seed: 0,
      attack: { steps: 5, examplesPerInstance: 2, epsilon: 1, stepSize: 0.1, chunkSize: 64, workers: 1 },
    };
    const run = (modelPath: string): Promise<RunRecord> =>
      runUnlearnRequest({
        modelPath,
        forget,
        forgetIds: ['a.png', 'b.png', 'c.png', 'd.png'].map((f) => path.join(dir, f)),
        classNames: ['a', 'b', 'c'],
        options,
      });
    const a = await run(twinFile);
    const b = await run(softFile);
    assert.ok(a.steps >= 1, 'the run took steps');
    assert.ok(
      a.forget.predictedAfter.some((p, i) => p !== a.forget.labels[i]),
      'something was forgotten',
    );
    assert.equal(b.steps, a.steps);
    assert.equal(b.stopped, a.stopped);
    assert.deepEqual(b.before, a.before);
    assert.deepEqual(b.after, a.after);
    assert.deepEqual(b.forget.predictedAfter, a.forget.predictedAfter);
    assert.equal(b.model.contract?.softmaxStripped, true);
    const va = await loadModel(a.result.path);
    const vb = await loadModel(b.result.path);
    assert.equal(vb.contract?.output, 'softmax', 'the version keeps the original output');
    va.model.getWeights().forEach((w, i) => {
      const other = vb.model.getWeights()[i].dataSync();
      w.dataSync().forEach((v, j) => assert.ok(Math.abs(v - other[j]) < 1e-4, `weight ${i}[${j}]: ${v} vs ${other[j]}`));
    });
    // TensorFlow.js itself loads the version as a softmax model: probabilities out.
    const saved = JSON.parse(await fs.readFile(b.result.path, 'utf8'));
    assert.equal(saved.modelTopology.config.layers.at(-1).config.activation, 'softmax');
    const plain = await plainLoad(b.result.path);
    const sums = tf.tidy(() => tf.sum(plain.predict(tf.tensor4d(forget.images, [4, 8, 8, 1])) as tfTypes.Tensor, 1).arraySync() as number[]);
    sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5, `softmax output sums to ${s}`));
    [va, vb].forEach((v) => v.model.dispose());
    plain.dispose();
  });
}

const rejectsNaming = (p: Promise<unknown>, file: string, pattern: RegExp) =>
  assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UserInputError, `expected a UserInputError, got ${e}`);
    assert.ok(e.message.includes(file), `message does not name ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });

type ModelJson = { weightsManifest: Array<{ paths: string[]; weights?: Array<{ name: string; shape?: number[]; dtype: string }> }> };

/** A copy of the tiny model whose model.json (parsed) and weights are changed by `edit`. */
async function broken(name: string, edit: (json: ModelJson, weights: Buffer, dir: string) => Promise<void> | void): Promise<string> {
  const file = await writeVariant(tmp, name, artifacts);
  const json = JSON.parse(await fs.readFile(file, 'utf8'));
  const weightsFile = path.join(path.dirname(file), 'weights.bin');
  const weights = await fs.readFile(weightsFile);
  await edit(json, weights, path.dirname(file));
  await fs.writeFile(file, JSON.stringify(json));
  await fs.writeFile(weightsFile, weights);
  return file;
}

test('refusals name model.json and the fix: NaN weight, shard outside, missing weights, missing shape, wrong byte count', async () => {
  const nan = await broken('nan', (_json, weights) => {
    weights.writeFloatLE(NaN, 8);
  });
  await rejectsNaming(loadModel(nan), nan, /weight tensor "conv1\/kernel" holds NaN.*cannot be unlearned/);
  const inf = await broken('inf', (_json, weights) => {
    weights.writeFloatLE(Infinity, weights.length - 4);
  });
  await rejectsNaming(loadModel(inf), inf, /holds an infinite value/);
  const outside = await broken('outside', async (json, weights, dir) => {
    await fs.writeFile(path.join(dir, '..', '..', 'outside.bin'), weights);
    json.weightsManifest[0].paths = ['../../outside.bin'];
  });
  await rejectsNaming(
    loadModel(outside),
    outside,
    /"\.\.\/\.\.\/outside\.bin", which is outside the model folder.*keep model.json and its .bin files together/,
  );
  const absolute = await broken('absolute', (json, _w, dir) => {
    json.weightsManifest[0].paths = [path.join(dir, 'weights.bin')];
  });
  await rejectsNaming(loadModel(absolute), absolute, /an absolute path/);
  const linked = await broken('linked', async (json, weights, dir) => {
    await fs.writeFile(path.join(tmp, 'elsewhere.bin'), weights);
    await fs.symlink(path.join(tmp, 'elsewhere.bin'), path.join(dir, 'link.bin'));
    json.weightsManifest[0].paths = ['link.bin'];
  });
  await rejectsNaming(loadModel(linked), linked, /outside the model folder \(through a link\)/);
  const noWeights = await broken('no-weights', (json) => {
    delete json.weightsManifest[0].weights;
  });
  await rejectsNaming(loadModel(noWeights), noWeights, /weightsManifest\[0\] has no "weights" list\. Re-export/);
  const noShape = await broken('no-shape', (json) => {
    delete json.weightsManifest[0].weights![2].shape;
  });
  await rejectsNaming(loadModel(noShape), noShape, /weightsManifest\[0\]\.weights\[2\] \("bn1\/beta"\) has no "shape"/);
  const short = await broken('short', (json) => {
    json.weightsManifest[0].weights![0].shape = [3, 3, 1, 3];
  });
  await rejectsNaming(loadModel(short), short, /hold \d+ bytes but its weightsManifest describes \d+; a shard is truncated or from another model/);
  const int = await broken('int32', (json) => {
    json.weightsManifest[0].weights![0].dtype = 'int32';
  });
  await rejectsNaming(loadModel(int), int, /dtype "int32"; Unlearn Lens needs float32 weights/);
});

test('the topology: unsupported layers, other output activations and a softmax before the output are refused, naming the layer', async () => {
  const sigmoid = await writeVariant(tmp, 'sigmoid', artifacts, (t) => {
    lastLayer(t).config.activation = 'sigmoid';
  });
  await rejectsNaming(
    loadModel(sigmoid),
    sigmoid,
    /output layer "logits" applies the activation "sigmoid".*Re-export the model with activation "linear" or "softmax"/,
  );
  const lstm = await writeVariant(tmp, 'lstm', artifacts, (t) => {
    t.config.layers.splice(3, 0, { class_name: 'LSTM', config: { name: 'memory', units: 4 } });
  });
  await rejectsNaming(loadModel(lstm), lstm, /layer "memory" is a LSTM, which Unlearn Lens does not support\. Supported layers: InputLayer, Conv2D/);
  const inner = await writeVariant(tmp, 'inner-softmax', artifacts, (t) => {
    t.config.layers[2].config.activation = 'softmax';
    t.config.layers[2].class_name = 'Activation';
  });
  await rejectsNaming(loadModel(inner), inner, /applies softmax before the output/);
  // Pure function: the original topology is never changed, the engine's copy has a linear output.
  const soft = JSON.parse(JSON.stringify(artifacts.modelTopology)) as Topology;
  withSoftmaxDense(soft);
  const copy = engineTopology(soft, 'm/model.json');
  assert.equal(lastLayer(soft).config.activation, 'softmax');
  assert.equal(lastLayer(copy).config.activation, 'linear');
  assert.throws(
    () => checkTopology({ class_name: 'Sequential', config: {} }, 'm/model.json'),
    (e: Error) => e instanceof ModelContractError && /m\/model\.json: its "modelTopology" has no list of layers/.test(e.message),
  );
});

test('input: 1 or 3 channels in [0, 1]; a first 1/255 rescaling is fed [0, 1] pixels scaled to what it was trained on, and saved unchanged', async () => {
  const rgba = tinyModel(1, [8, 8, 4], 3, 2);
  const four = await writeVariant(tmp, 'rgba', await captureArtifacts(rgba));
  rgba.dispose();
  await rejectsNaming(loadModel(four), four, /4 channels; Unlearn Lens reads grey \(1 channel\) or RGB \(3 channels\)/);
  const plainModel = await loadModel(await writeVariant(tmp, 'plain', artifacts));
  assert.match(
    modelContractText(plainModel.contract!),
    /input 8×8×1 \(grey\) pixels in \[0, 1\] \(the attack's ε is in that space\), 3 classes, output logits/,
  );
  const scaled = await writeVariant(tmp, 'scaled', artifacts, (t) => {
    const first = t.config.layers[0];
    const inputShape = first.config.batch_input_shape;
    delete first.config.batch_input_shape;
    t.config.layers.unshift({
      class_name: 'Rescaling',
      config: { name: 'to_unit', scale: 1 / 255, offset: 0, batch_input_shape: inputShape, dtype: 'float32', trainable: true },
    });
  });
  const loaded = await loadModel(scaled);
  assert.equal(loaded.contract?.inputRescaled, true);
  const x = tf.tensor4d(randomForgetSet(2).images, [2, 8, 8, 1]);
  const a = logits(plainModel.model, x, false).arraySync();
  const b = logits(loaded.model, x, false).arraySync();
  a.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - b[i][j]) < 1e-4, `rescaled input: logit ${i},${j}`)));
  assert.equal((loaded.savedTopology as unknown as Topology).config.layers[0].config.scale, 1 / 255);
  plainModel.model.dispose();
  loaded.model.dispose();
});

test('a functional model ending in Dense softmax, and a tf.keras export wrapped in model_config, are run on their logits', async () => {
  const input = tf.input({ shape: [8, 8, 1], name: 'image' });
  const conv = tf.layers.conv2d({ name: 'conv', filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfTypes.SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flat' }).apply(conv) as tfTypes.SymbolicTensor;
  const out = tf.layers.dense({ name: 'probs', units: 3, activation: 'softmax' }).apply(flat) as tfTypes.SymbolicTensor;
  const functional = tf.model({ inputs: input, outputs: out });
  const saved = await captureArtifacts(functional);
  const x = tf.tensor4d(randomForgetSet(2).images, [2, 8, 8, 1]);
  const probs = (functional.predict(x) as tfTypes.Tensor).arraySync() as number[][];
  functional.dispose();
  const wrapped = { model_config: saved.modelTopology, training_config: { loss: 'categorical_crossentropy' } };
  for (const [name, topology] of [
    ['functional', saved.modelTopology],
    ['model_config', wrapped],
  ] as const) {
    const file = await writeVariant(tmp, `keras-${name}`, { ...saved, modelTopology: topology as tfTypes.io.ModelArtifacts['modelTopology'] });
    const loaded = await loadModel(file);
    assert.equal(loaded.contract?.softmaxStripped, true, name);
    // Its logits give back the model's own probabilities under softmax.
    const again = tf.softmax(logits(loaded.model, x, false)).arraySync() as number[][];
    again.forEach((row, i) => row.forEach((p, j) => assert.ok(Math.abs(p - probs[i][j]) < 1e-5, `${name}: probability ${i},${j}`)));
    assert.ok(
      !tf.tidy(() => logits(loaded.model, x, false).sum(1).arraySync() as number[]).every((s) => Math.abs(s - 1) < 1e-3),
      `${name}: logits, not probabilities`,
    );
    loaded.model.dispose();
  }
});
