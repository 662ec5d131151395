/** Shared set-up for engine tests: a backend, a tiny model, small random data. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { initBackend, tf } from '../../src/engine/runtime/backend';
import type { BackendChoice } from '../../src/contracts/options';
import { webGpuDeviceErrors } from '../../src/engine/runtime/webgpu';
import { smallCnn } from '../../tools/zoo';
import { captureArtifacts, saveModelAtomically } from '../../src/engine/data/modelIo';
import { Rng } from '../../src/engine/core/rng';
import type { ForgetSet } from '../../src/engine/core/unlearn';

/** The backend UNLEARN_LENS_TEST_BACKEND names (default wasm). Asked for webgpu, never falls back. */
export async function useBackend(): Promise<string> {
  const choice = (process.env.UNLEARN_LENS_TEST_BACKEND ?? 'wasm') as BackendChoice;
  const { name } = await initBackend({ choice });
  if (choice === 'webgpu' && (name !== 'webgpu' || tf.getBackend() !== 'webgpu')) {
    throw new Error(`UNLEARN_LENS_TEST_BACKEND=webgpu, but the tests would run on ${tf.getBackend()}`);
  }
  return name;
}

/** For an after() hook: the GPU device reported no error (a failed GPU command does not throw). */
export function assertNoGpuErrors(): void {
  const errors = webGpuDeviceErrors();
  if (errors.length) throw new Error(`the WebGPU device reported ${errors.length} error(s); the first: ${errors[0]}`);
}

export function tinyModel(seed = 1, shape: [number, number, number] = [8, 8, 1], numClasses = 3, width = 2): tfTypes.Sequential {
  const model = smallCnn({ inputShape: shape, numClasses, width });
  const rng = new Rng(seed);
  model.setWeights(
    model.weights.map((w) => {
      const shape = w.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(
        Float32Array.from({ length: size }, () => (w.originalName.includes('variance') ? 0.5 + rng.next() : rng.normal() * 0.5)),
        shape,
      );
    }),
  );
  return model;
}

export function randomForgetSet(count: number, seed = 2, shape: [number, number, number] = [8, 8, 1], numClasses = 3): ForgetSet {
  const rng = new Rng(seed);
  const size = shape[0] * shape[1] * shape[2];
  return {
    images: Float32Array.from({ length: count * size }, () => rng.next()),
    labels: Int32Array.from({ length: count }, () => rng.int(numClasses)),
    imageShape: shape,
    numClasses,
  };
}

/** Runs `fn` twice and checks the second run leaves exactly as many tensors as it found. */
export async function assertNoLeak(fn: () => Promise<unknown>, assertEqual: (a: number, b: number, msg: string) => void): Promise<void> {
  await fn();
  const before = tf.memory().numTensors;
  await fn();
  assertEqual(tf.memory().numTensors, before, 'tensor count changed across a repeated run (a leak)');
}

/** An 8x8 grey PNG of one value. */
export function writePng(file: string, value: number): void {
  const img = new PNG({ width: 8, height: 8 });
  img.data.fill(value);
  for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(img));
}

/**
 * A workspace on disk: `models/tiny/model.json` (tinyModel(1, [8, 8, 1], 3, 2), which predicts
 * class b for every image here) and a class-folder dataset `data/train/{a,b,c}/{0,1}.png`;
 * `files` are the six images, a's first. Needs a backend.
 */
export async function classFolderFixture(prefix: string): Promise<{ dir: string; model: string; files: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const model = await saveModelAtomically(await captureArtifacts(tinyModel(1, [8, 8, 1], 3, 2)), path.join(dir, 'models', 'tiny'));
  const files: string[] = [];
  ['a', 'b', 'c'].forEach((cls, label) => {
    for (let i = 0; i < 2; i++) {
      const file = path.join(dir, 'data', 'train', cls, `${i}.png`);
      writePng(file, 40 * label + 60 * i);
      files.push(file);
    }
  });
  return { dir, model, files };
}
