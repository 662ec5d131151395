/** Shared set-up for engine tests: a backend, a tiny model, small random data. */
import type * as tfTypes from '@tensorflow/tfjs';
import { initBackend, tf } from '../../src/engine/backend';
import { smallCnn } from '../../src/engine/zoo';
import { Rng } from '../../src/engine/rng';
import type { ForgetSet } from '../../src/engine/unlearn';

export async function useBackend(): Promise<string> {
  const choice = (process.env.UNLEARN_LENS_TEST_BACKEND ?? 'wasm') as 'wasm' | 'cpu';
  return (await initBackend({ choice })).name;
}

export function tinyModel(seed = 1, shape: [number, number, number] = [8, 8, 1], numClasses = 3, width = 2): tfTypes.Sequential {
  const model = smallCnn({ inputShape: shape, numClasses, width });
  const rng = new Rng(seed);
  model.setWeights(
    model.weights.map((w) => {
      const shape = w.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(Float32Array.from({ length: size }, () => (w.originalName.includes('variance') ? 0.5 + rng.next() : rng.normal() * 0.5)), shape);
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
