/**
 * Writes the forget sets the retrained references are trained without (or with relabelled):
 * the same training indices the demo and `experiment` choose for (k, seed), and each instance's
 * nearest other class under the shipped model (the relabelled reference's new label).
 *
 *   npx tsx tools/forget-sets.ts fmnist-resnet8-w16-aug   # → references/fmnist-resnet8-w16-aug/forget-sets.json
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { embeddedDefault, loadEmbeddedData, packageRoot } from '../src/engine/data/assets';
import { initBackend } from '../src/engine/runtime/backend';
import { subset } from '../src/engine/data/dataset';
import { chooseForgetIndices } from '../src/engine/jobs/experiment';
import { loadModel } from '../src/engine/data/modelIo';
import { nearestOtherClasses } from '../src/engine/core/modelState';

const SETS: Array<[k: number, seed: number]> = [
  [1, 0],
  [16, 0],
  [16, 1],
  [16, 2],
  [64, 0],
  [128, 0],
];

async function main(modelName: string): Promise<void> {
  await initBackend({ choice: 'wasm' });
  const assets = embeddedDefault(modelName);
  const loaded = await loadModel(assets.modelPath);
  const { train } = await loadEmbeddedData(assets.dataDir);
  const sets = [];
  for (const [k, seed] of SETS) {
    const indices = chooseForgetIndices(train.labels.length, k, seed);
    const forget = subset(train, indices);
    const nearest = await nearestOtherClasses(loaded.model, forget.images, forget.labels, forget.imageShape);
    sets.push({ name: `k${k}-s${seed}`, k, seed, indices, labels: Array.from(forget.labels), nearest });
  }
  const out = path.join(packageRoot(), 'references', modelName, 'forget-sets.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ model: modelName, sets }, null, 1) + '\n');
  console.log(`wrote ${out}`);
}

main(process.argv[2] ?? 'fmnist-resnet8-w16-aug').catch((e) => {
  console.error(e);
  process.exit(1);
});
