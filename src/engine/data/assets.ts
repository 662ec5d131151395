/**
 * Where the embedded default model and data live: found by walking up from this file to the
 * package root, so it works from src/ (tests, tsx) and from dist/ (the bundle, the .vsix).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadIdxDataset } from './idx';
import type { Dataset } from './dataset';

export function packageRoot(from = __dirname): string {
  let dir = from;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'unlearn-lens') return dir;
      } catch {
        // Not ours; keep walking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the unlearn-lens package root above ${from}.`);
    dir = parent;
  }
}

export interface EmbeddedDefault {
  name: string;
  modelPath: string;
  dataDir: string;
}

export const DEFAULT_MODEL = 'fmnist-resnet8-w16-aug';

/** The models shipped in the package's models/ folder (each a folder with a model.json). */
export function embeddedModels(): string[] {
  const dir = path.join(packageRoot(), 'models');
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'model.json')))
    .map((e) => e.name)
    .sort();
}

export function embeddedDefault(model = DEFAULT_MODEL): EmbeddedDefault {
  const root = packageRoot();
  return { name: model, modelPath: path.join(root, 'models', model, 'model.json'), dataDir: path.join(root, 'data', 'fashion-mnist-subset') };
}

/** The embedded Fashion-MNIST subset: the model's whole training set, and held-out test images. */
export async function loadEmbeddedData(dataDir = embeddedDefault().dataDir): Promise<{ train: Dataset; test: Dataset }> {
  const classNames = JSON.parse(fs.readFileSync(path.join(dataDir, 'classes.json'), 'utf8')) as string[];
  const [train, test] = await Promise.all([
    loadIdxDataset(path.join(dataDir, 'train-images-idx3-ubyte.gz'), path.join(dataDir, 'train-labels-idx1-ubyte.gz'), classNames, 'fashion-mnist-subset/train'),
    loadIdxDataset(path.join(dataDir, 't10k-images-idx3-ubyte.gz'), path.join(dataDir, 't10k-labels-idx1-ubyte.gz'), classNames, 'fashion-mnist-subset/test'),
  ]);
  return { train, test };
}
