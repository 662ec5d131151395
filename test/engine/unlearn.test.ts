import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../../src/engine/backend';
import { unlearn } from '../../src/engine/unlearn';
import { resolveOptions, METHODS } from '../../src/engine/options';
import { predictClasses } from '../../src/engine/modelState';
import { assertNoLeak, randomForgetSet, tinyModel, useBackend } from './helpers';
import { CancelledError, UserInputError } from '../../src/engine/errors';

before(useBackend);

const quickAttack = { steps: 5, examplesPerInstance: 3, epsilon: 1, stepSize: 0.1, chunkSize: 64 };

for (const method of METHODS) {
  test(`${method} forgets a small forget set and reports how`, async () => {
    const model = tinyModel();
    const forget = randomForgetSet(4);
    // Make every instance "remembered": label = the model's current prediction.
    forget.labels = await predictClasses(model, forget.images, forget.imageShape);
    const result = await unlearn(model, forget, resolveOptions({ method, learningRate: 0.05, maxEpochs: 200, attack: quickAttack }));
    assert.equal(result.stopped, 'forgotten');
    assert.equal(result.remembered, 0);
    assert.ok(result.steps >= 1);
    const after = await predictClasses(model, forget.images, forget.imageShape);
    after.forEach((p, i) => assert.notEqual(p, forget.labels[i], `instance ${i} still predicted as its label`));
    assert.equal(result.layerChanges.length, model.trainableWeights.length);
    assert.ok(result.layerChanges.some((c) => c.delta > 0));
    if (method === 'adv' || method === 'adv+imp') assert.equal(result.adversarial?.targets.length, 4 * 3);
    model.dispose();
  });
}

test('the epoch cap stops a run and is reported', async () => {
  const model = tinyModel();
  const forget = randomForgetSet(4);
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  const result = await unlearn(model, forget, resolveOptions({ method: 'naive', learningRate: 1e-9, maxEpochs: 3 }));
  assert.equal(result.stopped, 'max-epochs');
  assert.equal(result.steps, 3);
  assert.ok(result.remembered > 0);
  model.dispose();
});

test('repeated runs leak no tensors', async () => {
  const model = tinyModel();
  const forget = randomForgetSet(4);
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  for (const method of METHODS) {
    await assertNoLeak(() => unlearn(model, forget, resolveOptions({ method, learningRate: 1e-4, maxEpochs: 2, attack: quickAttack })), (a, b, m) => assert.equal(a, b, `${method}: ${m}`));
  }
  model.dispose();
});

test('bad selections get clear errors', async () => {
  const model = tinyModel();
  await assert.rejects(unlearn(model, randomForgetSet(0), resolveOptions({ method: 'naive' })), (e: Error) => e instanceof UserInputError && /Nothing is selected/.test(e.message));
  const wrong = randomForgetSet(2);
  wrong.labels[1] = 7;
  await assert.rejects(unlearn(model, wrong, resolveOptions({ method: 'naive' })), (e: Error) => e instanceof UserInputError && /label 7, outside/.test(e.message));
  model.dispose();
});

test('an aborted signal cancels a run mid-attack and leaves no tensors behind', async () => {
  const model = tinyModel();
  const forget = randomForgetSet(4);
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const run = unlearn(model, forget, resolveOptions({ method: 'adv', attack: { ...quickAttack, steps: 1000 } }), {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'attack' && p.step === 3) controller.abort();
    },
  });
  await assert.rejects(run, CancelledError);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
