// A workspace the way a user would have it: the embedded model copied in, a few training images
// of the embedded Fashion-MNIST subset as PNGs in class folders, a held-out test folder, a
// manifest with good and broken rows, and training code that loads the model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { PNG } = require('pngjs');

function readIdx(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const dims = buf[3];
  const shape = Array.from({ length: dims }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { shape, data: buf.subarray(4 + 4 * dims) };
}

// Class names may hold characters a folder name cannot ("T-shirt/top"); see classFolderName.
const folderOf = (name) => name.replace(/[/\\:*?"<>|]/g, '_');

function writePng(file, pixels, h, w) {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < h * w; i++) {
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = pixels[i];
    png.data[4 * i + 3] = 255;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

/** Builds the workspace in `dir` (emptied first). Returns what the tests need to know. */
export function buildFixtureWorkspace(repoRoot, dir, { trainPerClass = 2, testCount = 200 } = {}) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const dataDir = path.join(repoRoot, 'data', 'fashion-mnist-subset');
  const classes = JSON.parse(fs.readFileSync(path.join(dataDir, 'classes.json'), 'utf8'));
  const modelSrc = path.join(repoRoot, 'models', 'fmnist-cnn16');
  const modelDst = path.join(dir, 'models', 'fmnist-cnn16');
  fs.mkdirSync(modelDst, { recursive: true });
  for (const f of fs.readdirSync(modelSrc)) if (/\.(json|bin)$/.test(f)) fs.copyFileSync(path.join(modelSrc, f), path.join(modelDst, f));
  fs.writeFileSync(path.join(dir, 'models', 'classes.json'), JSON.stringify(classes));

  const images = readIdx(path.join(dataDir, 'train-images-idx3-ubyte.gz'));
  const labels = readIdx(path.join(dataDir, 'train-labels-idx1-ubyte.gz')).data;
  const [, h, w] = images.shape;
  const trainRoot = path.join(dir, 'data', 'train');
  fs.mkdirSync(trainRoot, { recursive: true });
  fs.writeFileSync(path.join(trainRoot, 'classes.json'), JSON.stringify(classes));
  const perClass = new Map();
  const trainFiles = [];
  for (let i = 0; i < labels.length && trainFiles.length < trainPerClass * classes.length; i++) {
    const label = labels[i];
    const n = perClass.get(label) ?? 0;
    if (n >= trainPerClass) continue;
    perClass.set(label, n + 1);
    const rel = path.join(folderOf(classes[label]), `train-${String(i).padStart(5, '0')}.png`);
    writePng(path.join(trainRoot, rel), images.data.subarray(i * h * w, (i + 1) * h * w), h, w);
    trainFiles.push({ rel, label, file: path.join(trainRoot, rel) });
  }

  const testImages = readIdx(path.join(dataDir, 't10k-images-idx3-ubyte.gz'));
  const testLabels = readIdx(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')).data;
  const testRoot = path.join(dir, 'data', 'test');
  fs.mkdirSync(testRoot, { recursive: true });
  fs.writeFileSync(path.join(testRoot, 'classes.json'), JSON.stringify(classes));
  for (let i = 0; i < Math.min(testCount, testLabels.length); i++) {
    writePng(
      path.join(testRoot, folderOf(classes[testLabels[i]]), `test-${String(i).padStart(5, '0')}.png`),
      testImages.data.subarray(i * h * w, (i + 1) * h * w),
      h,
      w,
    );
  }

  // Manifest beside the train folder: good rows, then a missing file, an unknown label, a non-image.
  fs.writeFileSync(path.join(dir, 'data', 'not-an-image.png'), 'this is text, not a PNG\n');
  const manifestRows = trainFiles.slice(0, 6).map((t) => `train/${t.rel.split(path.sep).join('/')},${classes[t.label]}`);
  const manifest =
    [
      'path,label',
      ...manifestRows,
      'train/Shirt/missing.png,Shirt',
      `train/${trainFiles[0].rel.split(path.sep).join('/')},Jacket`,
      'not-an-image.png,Coat',
    ].join('\n') + '\n';
  fs.writeFileSync(path.join(dir, 'data', 'train.csv'), manifest);
  fs.writeFileSync(path.join(dir, 'data', 'classes.json'), JSON.stringify(classes));

  fs.writeFileSync(
    path.join(dir, 'train.py'),
    [
      'import tensorflow as tf',
      'from tensorflow.keras.models import load_model',
      '',
      "model = load_model('models/fmnist-cnn16')",
      'model.fit(x, y)',
      "model.save('models/fmnist-cnn16-finetuned')",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'train.js'),
    ["const tf = require('@tensorflow/tfjs');", "const model = await tf.loadLayersModel('file://models/fmnist-cnn16/model.json');", ''].join('\n'),
  );
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  return {
    dir,
    classes,
    trainFiles,
    modelJson: path.join(modelDst, 'model.json'),
    manifest: path.join(dir, 'data', 'train.csv'),
    trainRoot,
    testRoot,
    manifestGoodRows: manifestRows.length,
  };
}
