import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../../src/engine/runtime/backend';
import { Guard } from '../../src/engine/core/guard';
import { predictClasses } from '../../src/engine/core/modelState';
import { DEFAULT_GUARD } from '../../src/contracts/options';
import { randomForgetSet, tinyModel, useBackend } from './helpers';

before(useBackend);

test("the guard's agreement is the lowest of its parts, not the parts pooled", async () => {
  const model = tinyModel(4); // seed 4: these images fall in classes 0 and 1
  const { images, imageShape } = randomForgetSet(60, 9);
  const size = 8 * 8;
  const predicted = await predictClasses(model, images, imageShape);
  const pick = (keep: (c: number) => boolean) => {
    const idx = [...predicted.keys()].filter((i) => keep(predicted[i]));
    const out = new Float32Array(idx.length * size);
    idx.forEach((i, j) => out.set(images.subarray(i * size, (i + 1) * size), j * size));
    return out;
  };
  const zero = pick((c) => c === 0);
  const other = pick((c) => c !== 0);
  assert.ok(zero.length > 0 && other.length > 0, 'the random images fall in more than one class');
  const guard = await Guard.start(model, [zero, new Float32Array(0), other], imageShape, { ...DEFAULT_GUARD, action: 'report' });
  assert.equal(guard.report.probeSize, (zero.length + other.length) / size, 'an empty part is left out');
  // Push every prediction to class 0: the first part still agrees completely, the second not at all.
  const last = model.layers[model.layers.length - 1];
  const [kernel, bias] = last.getWeights();
  const pushed = tf.tensor1d([1e4, ...new Array(bias.shape[0] - 1).fill(0)]);
  last.setWeights([kernel, pushed]);
  assert.equal(await guard.check(1), true, 'report: the run goes on');
  assert.equal(guard.report.agreement, 0, 'the lower part (0 %), not the pooled share');
  assert.equal(guard.report.tripped?.agreement, 0);
  guard.dispose();
  pushed.dispose();
  model.dispose();
});
