/**
 * What a model must be for Unlearn Lens, stated and checked in one place. Pure functions over the
 * parsed model.json (topology and weightsManifest) and, once read, the weight data; the engine
 * (src/engine/data/modelIo.ts) runs them once, when it loads a model.
 *
 * The contract:
 * - A TensorFlow.js Layers model: model.json with `modelTopology` and `weightsManifest`; every
 *   manifest group lists `paths` (shard files, relative, inside the model's folder) and `weights`
 *   (each with a name, a shape and dtype float32); the shards hold exactly the declared bytes.
 * - One input, images [h, w, c] with c = 1 (grey) or 3 (RGB), pixels in [0, 1]; the attack's
 *   ε and every image shown are in that space. A model whose first layer rescales by 1/255 (it was
 *   trained on 0–255 pixels) is fed [0, 1] pixels with that layer's scale multiplied by 255, so it
 *   sees what it was trained on.
 * - One output, [classes]: logits. A model that ends in softmax (Dense with activation softmax,
 *   Activation('softmax') or a Softmax layer) is run without it — the losses, PGD and MAS apply
 *   log-softmax themselves — and its versions are saved with the softmax kept. Any other output
 *   activation (sigmoid, relu, …) is refused: those outputs are not logits of one class among many.
 * - Only the layers in SUPPORTED_LAYERS; softmax only as the last step.
 * - Finite weights: a NaN or infinite value is refused, naming the tensor.
 *
 * No runtime dependencies, and nothing from src/engine or src/extension: violations are thrown as
 * ModelContractError (message and file), which the engine turns into its user-facing error.
 */
import * as path from 'node:path';

export class ModelContractError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'ModelContractError';
  }
}

/** The range pixels are fed in (and the attack's ε is measured in). */
export const PIXEL_RANGE: readonly [number, number] = [0, 1];

/** Layers whose forward pass Unlearn Lens compiles to plain ops (src/engine/core/forward.ts). */
export const COMPILED_LAYERS: readonly string[] = [
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'Dense',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'Flatten',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'Add',
  'ZeroPadding2D',
  'Rescaling',
  'Reshape',
];

/** Layers run through TensorFlow.js's own `model.apply` (correct, slower). */
export const OTHER_SUPPORTED_LAYERS: readonly string[] = [
  'Dropout',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'SeparableConv2D',
  'Conv2DTranspose',
  'Concatenate',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  'Subtract',
  'LeakyReLU',
  'PReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'LayerNormalization',
  'UpSampling2D',
  'Cropping2D',
  'Permute',
  'Sequential',
  'Model',
  'Functional',
];

export const SUPPORTED_LAYERS: readonly string[] = [...COMPILED_LAYERS, ...OTHER_SUPPORTED_LAYERS];

const NESTED_MODELS = new Set(['Sequential', 'Model', 'Functional']);

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** What the output layer does after its linear part. */
export type OutputKind = 'logits' | 'softmax';

/** The contract as a model meets it: shown in the CLI and the extension, kept in the run record. */
export interface ModelContract {
  /** [h, w, c] of one image. */
  input: [number, number, number];
  /** Pixel range the model is fed. */
  range: [number, number];
  /** The model's first layer rescaled by 1/255 (trained on 0–255 pixels); it is fed [0, 1] with that scale × 255. */
  inputRescaled?: boolean;
  classes: number;
  /** What the saved model outputs: its own semantics, kept in every version. */
  output: OutputKind;
  /** The engine runs the model without its trailing softmax (true exactly when output is softmax). */
  softmaxStripped: boolean;
  /** Number of weight values (all tensors, BatchNorm statistics included). */
  parameters: number;
  layers: number;
}

// ---------------------------------------------------------------------------------------------
// weightsManifest and shards

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const REEXPORT = 'Re-export the model with model.save(...) in TensorFlow.js or tensorflowjs_converter --output_format tfjs_layers_model.';

/** The weightsManifest, checked entry by entry; the first problem is thrown naming model.json. */
export function checkWeightsManifest(manifest: unknown, file: string): WeightsGroup[] {
  if (!Array.isArray(manifest)) throw new ModelContractError(`${file} has no "weightsManifest" list. ${REEXPORT}`, file);
  return manifest.map((group: unknown, g) => {
    const where = `weightsManifest[${g}]`;
    if (!isObject(group)) throw new ModelContractError(`${file}: ${where} is not an object with "paths" and "weights". ${REEXPORT}`, file);
    if (!Array.isArray(group.paths) || group.paths.length === 0 || !group.paths.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new ModelContractError(`${file}: ${where} has no "paths" list of shard files. ${REEXPORT}`, file);
    }
    if (!Array.isArray(group.weights)) throw new ModelContractError(`${file}: ${where} has no "weights" list. ${REEXPORT}`, file);
    for (const shard of group.paths as string[]) checkShardName(shard, file);
    const weights = group.weights.map((w: unknown, i): WeightSpec => {
      const at = `${where}.weights[${i}]`;
      if (!isObject(w) || typeof w.name !== 'string' || w.name === '') throw new ModelContractError(`${file}: ${at} has no "name". ${REEXPORT}`, file);
      const named = `${at} ("${w.name}")`;
      if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
        throw new ModelContractError(`${file}: ${named} has no "shape" (a list of whole numbers). ${REEXPORT}`, file);
      }
      if (w.quantization !== undefined)
        throw new ModelContractError(`${file} stores quantized weights (${named}); unlearning needs float32 weights. Re-export without --quantize.`, file);
      if (w.dtype !== 'float32')
        throw new ModelContractError(`${file}: ${named} has dtype ${JSON.stringify(w.dtype)}; Unlearn Lens needs float32 weights. ${REEXPORT}`, file);
      return { name: w.name, shape: [...(w.shape as number[])], dtype: 'float32' };
    });
    return { paths: [...(group.paths as string[])], weights };
  });
}

/** A shard path must be a plain relative path that stays inside the model's folder. */
function checkShardName(shard: string, file: string): void {
  const outside = (why: string) =>
    new ModelContractError(
      `${file} names the weight shard "${shard}", ${why}. Shards must be files in the model's own folder; keep model.json and its .bin files together and ` +
        `list them by name.`,
      file,
    );
  if (/^[a-z][a-z0-9+.-]*:/i.test(shard) && !/^[a-z]:[\\/]/i.test(shard)) throw outside('a URL');
  if (path.isAbsolute(shard) || path.win32.isAbsolute(shard)) throw outside('an absolute path');
  const normal = path.normalize(shard.replace(/\\/g, '/'));
  if (normal === '..' || normal.startsWith(`..${path.sep}`) || normal.startsWith('../')) throw outside('which is outside the model folder');
}

/**
 * The shard's real location (symlinks resolved) must lie inside the model folder's real location;
 * returns normally or throws naming model.json.
 */
export function checkShardInside(modelDirReal: string, shardReal: string, shard: string, file: string): void {
  const rel = path.relative(modelDirReal, shardReal);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ModelContractError(
      `${file} names the weight shard "${shard}", which resolves to a file outside the model folder (through a link). Copy the shard into the model's folder ` +
        `instead of linking it.`,
      file,
    );
  }
}

export const weightSize = (w: WeightSpec): number => w.shape.reduce((a, b) => a * b, 1);

/** Bytes a group's shards must hold together (float32: 4 bytes a value). */
export const groupBytes = (group: WeightsGroup): number => group.weights.reduce((n, w) => n + 4 * weightSize(w), 0);

export function checkShardBytes(group: WeightsGroup, actual: number, file: string): void {
  const expected = groupBytes(group);
  if (actual !== expected) {
    throw new ModelContractError(
      `The weight shards ${group.paths.join(', ')} of ${file} hold ${actual} bytes but its weightsManifest describes ${expected}; a shard is truncated or ` +
        `from another model. Copy the model folder again from where it was saved.`,
      file,
    );
  }
}

/** Every weight value finite; the first tensor with a NaN or an infinity is named. */
export function checkFiniteWeights(specs: readonly WeightSpec[], data: ArrayBuffer, file: string): void {
  const values = new Float32Array(data, 0, Math.floor(data.byteLength / 4));
  let offset = 0;
  for (const spec of specs) {
    const n = weightSize(spec);
    for (let i = offset; i < offset + n; i++) {
      const v = values[i];
      if (v - v !== 0) {
        throw new ModelContractError(
          `${file}: the weight tensor "${spec.name}" holds ${Number.isNaN(v) ? 'NaN' : 'an infinite value'} (at index ${i - offset}). A model with ` +
            `non-finite weights cannot be unlearned; use a checkpoint from before training diverged.`,
          file,
        );
      }
    }
    offset += n;
  }
}

// ---------------------------------------------------------------------------------------------
// Topology: layers, output, input range

interface LayerJson {
  class_name?: unknown;
  config?: Record<string, unknown>;
  name?: unknown;
}

/** The model config inside a modelTopology (tf.keras exports wrap it in `model_config`). */
function modelConfig(topology: unknown): LayerJson | undefined {
  if (!isObject(topology)) return undefined;
  const inner = isObject(topology.model_config) ? topology.model_config : topology;
  return isObject(inner) ? (inner as LayerJson) : undefined;
}

/** A model's layer list: Sequential's config may be the list itself (older exports) or hold `layers`. */
function layersOf(model: LayerJson): LayerJson[] | undefined {
  const config = model.config as unknown;
  if (Array.isArray(config)) return config as LayerJson[];
  if (isObject(config) && Array.isArray(config.layers)) return config.layers as LayerJson[];
  return undefined;
}

const layerName = (layer: LayerJson): string => String(layer.config?.name ?? layer.name ?? '?');
/** 'hard_sigmoid' and 'hardSigmoid' alike. */
const activationOf = (layer: LayerJson): string =>
  String(layer.config?.activation ?? 'linear')
    .replace(/_/g, '')
    .toLowerCase();
const isSoftmaxLayer = (layer: LayerJson): boolean => layer.class_name === 'Softmax' || activationOf(layer) === 'softmax';

/** The layer whose output is the model's output (the last of a Sequential; output_layers of a functional model). */
function outputLayer(model: LayerJson, layers: LayerJson[], file: string): LayerJson {
  const config = model.config as Record<string, unknown> | undefined;
  const outputs = isObject(config) ? config.output_layers : undefined;
  if (Array.isArray(outputs)) {
    if (outputs.length !== 1)
      throw new ModelContractError(
        `${file} has ${outputs.length} outputs; Unlearn Lens works on classifiers with one output (the class scores). Export the classification head alone.`,
        file,
      );
    const name = Array.isArray(outputs[0]) ? outputs[0][0] : undefined;
    const found = layers.find((l) => layerName(l) === name);
    if (!found) throw new ModelContractError(`${file}: its output layer "${String(name)}" is not among its layers. ${REEXPORT}`, file);
    return found;
  }
  const last = layers[layers.length - 1];
  if (!last) throw new ModelContractError(`${file} has no layers. ${REEXPORT}`, file);
  return last;
}

/** Every layer, nested models' layers included, with the chain of names that leads to it. */
function allLayers(layers: LayerJson[], prefix = ''): Array<{ layer: LayerJson; path: string }> {
  return layers.flatMap((layer) => {
    const here = { layer, path: `${prefix}${layerName(layer)}` };
    const inner = NESTED_MODELS.has(String(layer.class_name)) ? layersOf(layer) : undefined;
    return inner ? [here, ...allLayers(inner, `${here.path}/`)] : [here];
  });
}

/** What the topology says about the contract: the output kind, the layer count, and whether input pixels are 0–255. */
export interface TopologyFacts {
  output: OutputKind;
  layers: number;
  inputRescaled: boolean;
}

/** The first real layer after the input (a nested model's first layer when the model starts with one). */
function firstLayer(layers: LayerJson[]): LayerJson | undefined {
  const first = layers.find((l) => l.class_name !== 'InputLayer');
  if (first && NESTED_MODELS.has(String(first.class_name))) return firstLayer(layersOf(first) ?? []);
  return first;
}

/** A first Rescaling by at most 1/100 means the model was trained on 0–255 pixels. */
function rescalesFrom255(layers: LayerJson[]): LayerJson | undefined {
  const first = firstLayer(layers);
  const scale = first?.config?.scale;
  return first?.class_name === 'Rescaling' && typeof scale === 'number' && scale > 0 && scale <= 0.01 ? first : undefined;
}

/** Checks the topology against the contract (layers, output, softmax placement). */
export function checkTopology(topology: unknown, file: string): TopologyFacts {
  const model = modelConfig(topology);
  const layers = model && layersOf(model);
  if (!model || !layers) throw new ModelContractError(`${file}: its "modelTopology" has no list of layers. ${REEXPORT}`, file);
  const config = model.config as Record<string, unknown> | undefined;
  if (isObject(config) && Array.isArray(config.input_layers) && config.input_layers.length !== 1) {
    throw new ModelContractError(`${file} has ${config.input_layers.length} inputs; Unlearn Lens works on classifiers with one image input.`, file);
  }
  const every = allLayers(layers);
  const unsupported = every.find(({ layer }) => !SUPPORTED_LAYERS.includes(String(layer.class_name)));
  if (unsupported) {
    throw new ModelContractError(
      `${file}: layer "${unsupported.path}" is a ${String(unsupported.layer.class_name)}, which Unlearn Lens does not support. Supported layers: ` +
        `${SUPPORTED_LAYERS.join(', ')}.`,
      file,
    );
  }
  const out = outputLayer(model, layers, file);
  if (NESTED_MODELS.has(String(out.class_name))) {
    throw new ModelContractError(
      `${file}: its output comes from the nested model "${layerName(out)}"; Unlearn Lens needs the classifier's last layer at the top level. Save the model ` +
        `flattened (one level of layers).`,
      file,
    );
  }
  const misplaced = every.find(({ layer }) => layer !== out && isSoftmaxLayer(layer));
  if (misplaced) {
    throw new ModelContractError(
      `${file}: layer "${misplaced.path}" applies softmax before the output; Unlearn Lens needs class scores (logits) out, with softmax, if any, as the last ` +
        `step.`,
      file,
    );
  }
  let output: OutputKind = 'logits';
  if (out.class_name === 'Softmax') {
    const axis = out.config?.axis ?? -1;
    if (axis !== -1 && !(Array.isArray(axis) && axis.length === 1 && axis[0] === -1)) {
      throw new ModelContractError(
        `${file}: the output layer "${layerName(out)}" is a softmax over axis ${JSON.stringify(axis)}; Unlearn Lens needs a softmax over the classes (the ` +
          `last axis), or logits.`,
        file,
      );
    }
    output = 'softmax';
  } else {
    const act = activationOf(out);
    if (act === 'softmax') output = 'softmax';
    else if (act !== 'linear') {
      throw new ModelContractError(
        `${file}: the output layer "${layerName(out)}" applies the activation "${String(out.config?.activation)}"; Unlearn Lens needs class scores (logits, ` +
          `a linear last layer) or softmax probabilities. Re-export the model with activation "linear" or "softmax" on its last layer.`,
        file,
      );
    }
  }
  return { output, layers: every.length, inputRescaled: rescalesFrom255(layers) !== undefined };
}

/**
 * The topology the engine runs: the same model with its trailing softmax replaced by the identity
 * (layer names, weights and graph unchanged) and a first 1/255 rescaling multiplied by 255, so it
 * takes [0, 1] pixels. A copy; the original is untouched (versions are saved with it).
 */
export function engineTopology<T>(topology: T, file: string): T {
  const copy = JSON.parse(JSON.stringify(topology)) as T;
  const facts = checkTopology(copy, file);
  const model = modelConfig(copy)!;
  const layers = layersOf(model)!;
  if (facts.output === 'softmax') {
    const out = outputLayer(model, layers, file);
    if (out.class_name === 'Softmax') {
      out.class_name = 'Activation';
      out.config = { name: out.config?.name, trainable: out.config?.trainable ?? true, dtype: out.config?.dtype ?? 'float32', activation: 'linear' };
    } else {
      out.config = { ...out.config, activation: 'linear' };
    }
  }
  const rescaling = rescalesFrom255(layers);
  if (rescaling?.config) rescaling.config.scale = (rescaling.config.scale as number) * 255;
  return copy;
}

/** Input [batch, h, w, c] and output [batch, classes] of the built model, against the contract. */
export function checkShapes(
  inputShape: ReadonlyArray<number | null>,
  outputShape: ReadonlyArray<number | null>,
  file: string,
): { input: [number, number, number]; classes: number } {
  const [, h, w, c] = inputShape;
  if (inputShape.length !== 4 || typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
    throw new ModelContractError(
      `${file} takes input ${JSON.stringify(inputShape.slice(1))}; Unlearn Lens needs a model of fixed-size images [height, width, channels]. Export it with ` +
        `a fixed input shape.`,
      file,
    );
  }
  if (c !== 1 && c !== 3) {
    throw new ModelContractError(
      `${file} takes images with ${c} channels; Unlearn Lens reads grey (1 channel) or RGB (3 channels) images. Export a model with 1 or 3 input channels ` +
        `(channels last).`,
      file,
    );
  }
  const classes = outputShape[1];
  if (outputShape.length !== 2 || typeof classes !== 'number' || classes < 2) {
    throw new ModelContractError(
      `${file} outputs ${JSON.stringify(outputShape.slice(1))}; Unlearn Lens needs one score per class ([classes], at least 2). End the model in a Dense ` +
        `layer with one unit per class.`,
      file,
    );
  }
  return { input: [h, w, c], classes };
}

export function checkModelContract(facts: TopologyFacts, shapes: { input: [number, number, number]; classes: number }, parameters: number): ModelContract {
  return {
    input: shapes.input,
    range: [PIXEL_RANGE[0], PIXEL_RANGE[1]],
    ...(facts.inputRescaled ? { inputRescaled: true } : {}),
    classes: shapes.classes,
    output: facts.output,
    softmaxStripped: facts.output === 'softmax',
    parameters,
    layers: facts.layers,
  };
}

/** The contract in one or two lines, for the CLI and the extension's log. */
export function modelContractText(c: ModelContract): string {
  const [h, w, ch] = c.input;
  const lines = [
    `model: input ${h}×${w}×${ch} (${ch === 1 ? 'grey' : 'RGB'}) pixels in [${c.range[0]}, ${c.range[1]}] (the attack's ε is in that space), ${c.classes} ` +
      `classes, ` +
      `output ${c.output}, ${c.parameters.toLocaleString('en-US')} parameters in ${c.layers} layers`,
  ];
  if (c.softmaxStripped) lines.push('model ends in softmax; Unlearn Lens works on its logits and saves versions with the softmax kept');
  if (c.inputRescaled)
    lines.push(
      'model rescales its input by 1/255 (trained on 0–255 pixels); Unlearn Lens feeds it [0, 1] pixels with that scale × 255, and saves versions unchanged',
    );
  return lines.join('\n');
}

/** Whether an unknown value (read from a run record) is a ModelContract. */
export function isModelContract(v: unknown): v is ModelContract {
  if (!isObject(v)) return false;
  const nums = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number');
  return (
    nums(v.input, 3) &&
    nums(v.range, 2) &&
    typeof v.classes === 'number' &&
    (v.output === 'logits' || v.output === 'softmax') &&
    typeof v.softmaxStripped === 'boolean' &&
    typeof v.parameters === 'number' &&
    typeof v.layers === 'number' &&
    (v.inputRescaled === undefined || typeof v.inputRescaled === 'boolean')
  );
}
