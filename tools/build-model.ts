/**
 * Turns a PyTorch export (tools/train_default_model.py → models/<name>/weights.export.json) into
 * the TensorFlow.js Layers model the engine loads: models/<name>/model.json + weights.bin.
 *
 *   npx tsx tools/build-model.ts models/fmnist-cnn16
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { initBackend, tf } from '../src/engine/runtime/backend';
import { resNet, smallCnn } from './zoo';
import { captureArtifacts, writeModelFiles } from '../src/engine/data/modelIo';

interface Export {
  architecture:
    | { kind: 'small_cnn'; width: number; numClasses: number; inputShape: [number, number, number] }
    | { kind: 'resnet'; depth: number; width: number; numClasses: number; inputShape: [number, number, number] };
  training?: Record<string, unknown>;
  trainAccuracy: number;
  testAccuracy: number;
  weights: Array<{ name: string; shape: number[]; data: string }>;
}

async function main(dir: string): Promise<void> {
  await initBackend({ choice: 'cpu' });
  const exported = JSON.parse(await fs.readFile(path.join(dir, 'weights.export.json'), 'utf8')) as Export;
  const name = path.basename(dir).replace(/[^a-zA-Z0-9_]/g, '_');
  const arch = exported.architecture;
  const model = arch.kind === 'resnet' ? resNet(arch, name) : smallCnn(arch, name);
  const byName = new Map(exported.weights.map((w) => [w.name, w]));
  model.setWeights(
    model.weights.map((w) => {
      const e = byName.get(w.originalName);
      if (!e) throw new Error(`The export has no weight ${w.originalName}`);
      const bytes = Buffer.from(e.data, 'base64');
      return tf.tensor(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice(), e.shape);
    }),
  );
  const artifacts = await captureArtifacts(model);
  // Our own shipped asset, rebuilt in place (user models are never written over: see saveModelAtomically).
  await writeModelFiles(artifacts, dir, {
    trainAccuracy: exported.trainAccuracy,
    testAccuracy: exported.testAccuracy,
    trainedBy: 'tools/train_default_model.py',
    architecture: arch,
    training: exported.training,
  });
  console.log(`${dir}: ${model.countParams()} parameters, train ${exported.trainAccuracy}, test ${exported.testAccuracy}`);
}

main(process.argv[2] ?? 'models/fmnist-cnn16').catch((e) => {
  console.error(e);
  process.exit(1);
});
