import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from '../../src/engine/runtime/backend';
import { Loader, unlearn } from '../../src/engine/core/unlearn';
import type { GuardTrip } from '../../src/contracts/protocol';
import { Rng } from '../../src/engine/core/rng';
import { resolveOptions, METHODS } from '../../src/contracts/options';
import { predictClasses } from '../../src/engine/core/modelState';
import { assertNoLeak, randomForgetSet, tinyModel, useBackend } from './helpers';
import { CancelledError, UserInputError } from '../../src/contracts/errors';

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
    const withImportance = method === 'imp' || method === 'adv+imp';
    model.trainableWeights.forEach((w, i) => {
      const c = result.layerChanges[i];
      assert.equal(c.units.length, w.shape[w.shape.length - 1], `${c.name}: one value per output unit`);
      // The units partition the tensor: their norms make up its norm (4 significant digits each).
      const fromUnits = Math.sqrt(c.units.reduce((s, u) => s + u * u, 0));
      assert.ok(Math.abs(fromUnits - c.delta) <= 1e-3 * c.delta + 1e-9, `${c.name}: units ${fromUnits} vs tensor ${c.delta}`);
      if (withImportance) {
        assert.equal(c.importance?.length, c.units.length, `${c.name}: importance per unit`);
        assert.ok(
          c.importance!.every((v) => v >= 0 && v <= 1),
          `${c.name}: importance in [0, 1]`,
        );
      } else assert.equal(c.importance, undefined, `${c.name}: no importance without IMP`);
    });
    if (withImportance)
      assert.ok(
        result.layerChanges.some((c) => c.importance!.some((v) => v > 0.5)),
        'some unit matters to the forget set',
      );
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

test('a run whose loss or weights stop being finite stops as "diverged" and keeps the last finite weights', async () => {
  // 1e39 is finite for the options (a double) but Infinity in float32: the first update overflows.
  for (const [i, learningRate] of [1e39, 1e39].entries()) {
    const model = tinyModel();
    const forget = randomForgetSet(4);
    forget.labels = await predictClasses(model, forget.images, forget.imageShape);
    const seen: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const result = await unlearn(model, forget, resolveOptions({ method: 'naive', learningRate, maxEpochs: 50 }), {
      onProgress: (p) => p.phase === 'unlearn' && seen.push(p.loss),
    });
    // The first run may leave backend caches; from the second on, nothing may be left behind.
    if (i > 0) assert.equal(tf.memory().numTensors, tensorsBefore, 'tensor count changed across a diverged run (a leak)');
    assert.equal(result.stopped, 'diverged', `lr ${learningRate}: ${result.stopped} after ${result.steps} steps`);
    // One progress event per applied step, and one for the step that was refused.
    assert.equal(seen.length, result.steps + 1);
    for (const w of model.weights) {
      const values = await w.read().data();
      assert.ok(
        values.every((v) => Number.isFinite(v)),
        `lr ${learningRate}: ${w.name} holds a non-finite value`,
      );
    }
    model.dispose();
  }
});

test('repeated runs leak no tensors', async () => {
  const model = tinyModel();
  const forget = randomForgetSet(4);
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  for (const method of METHODS) {
    await assertNoLeak(
      () => unlearn(model, forget, resolveOptions({ method, learningRate: 1e-4, maxEpochs: 2, attack: quickAttack })),
      (a, b, m) => assert.equal(a, b, `${method}: ${m}`),
    );
  }
  model.dispose();
});

test('bad selections get clear errors', async () => {
  const model = tinyModel();
  await assert.rejects(
    unlearn(model, randomForgetSet(0), resolveOptions({ method: 'naive' })),
    (e: Error) => e instanceof UserInputError && /Nothing is selected/.test(e.message),
  );
  const wrong = randomForgetSet(2);
  wrong.labels[1] = 7;
  await assert.rejects(
    unlearn(model, wrong, resolveOptions({ method: 'naive' })),
    (e: Error) => e instanceof UserInputError && /label 7, outside/.test(e.message),
  );
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

for (const forgetTerm of ['remembered-ce', 'margin', 'nearest-ce'] as const) {
  test(`the bounded forget term ${forgetTerm} forgets, by the stop margin, on running statistics`, async () => {
    const model = tinyModel();
    const forget = randomForgetSet(4);
    forget.labels = await predictClasses(model, forget.images, forget.imageShape);
    const options = resolveOptions({ method: 'naive', forgetTerm, forgetStatistics: 'running', stopMargin: 0.5, learningRate: 0.05, maxEpochs: 300 });
    const result = await unlearn(model, forget, options);
    assert.equal(result.stopped, 'forgotten');
    // An asynchronous read, so that this also runs on webgpu.
    const z = await tf.tidy(() => model.predict(tf.tensor4d(forget.images, [4, 8, 8, 1])) as tfTypes.Tensor2D).array();
    z.forEach((row, i) => {
      const others = row.filter((_, c) => c !== forget.labels[i]);
      assert.ok(row[forget.labels[i]] <= Math.max(...others) - 0.5 + 1e-4, `instance ${i} is not out of its class by the margin`);
    });
    model.dispose();
  });
}

test('the guard reports a drop in agreement, or stops and rolls back to its last good checkpoint', async () => {
  const forget = randomForgetSet(4);
  const probe = randomForgetSet(64, 5).images;
  for (const action of ['report', 'stop'] as const) {
    const model = tinyModel();
    forget.labels = await predictClasses(model, forget.images, forget.imageShape);
    const original = await predictClasses(model, probe, forget.imageShape);
    // A violent learning rate wrecks the model within a few steps.
    const options = resolveOptions({ method: 'naive', learningRate: 5, maxEpochs: 40, guard: { minAgreement: 0.95, every: 1, action } });
    const result = await unlearn(model, forget, options, { probe });
    assert.ok(result.guard.tripped, `${action}: the guard should trip`);
    assert.ok(result.guard.minAgreement < 0.95);
    assert.equal(result.guard.probeSize, 64);
    const now = await predictClasses(model, probe, forget.imageShape);
    const agreement = now.reduce((n, p, i) => n + (p === original[i] ? 1 : 0), 0) / 64;
    assert.ok(Math.abs(agreement - result.guard.agreement) < 1e-9, 'the reported agreement is the model returned');
    if (action === 'stop') {
      assert.equal(result.stopped, 'guard');
      assert.equal(result.guard.tripped!.rolledBackToStep, result.guard.tripped!.step - 1);
      assert.ok(agreement >= 0.95, `rolled back, agreement should pass again (got ${agreement})`);
    }
    model.dispose();
  }
});

test('the guard that asks: "stop" rolls back like stop, "continue" carries on and asks no more, nobody to ask stops', async () => {
  const forget = randomForgetSet(4);
  const probe = randomForgetSet(64, 5).images;
  const guard = { minAgreement: 0.95, every: 1, action: 'ask' as const };
  // A stop margin no run reaches keeps it going to the epoch cap, so "continue" has somewhere to go.
  const options = resolveOptions({ method: 'naive', learningRate: 0.05, maxEpochs: 10, stopMargin: 1e6, guard });
  const run = async (answer?: 'stop' | 'continue') => {
    const model = tinyModel();
    forget.labels = await predictClasses(model, forget.images, forget.imageShape);
    const questions: GuardTrip[] = [];
    const onGuardTrip = answer
      ? async (trip: GuardTrip) => {
          questions.push(trip);
          return answer;
        }
      : undefined;
    const result = await unlearn(model, forget, options, { probe, onGuardTrip });
    model.dispose();
    return { result, questions };
  };

  const stopped = await run('stop');
  assert.equal(stopped.questions.length, 1);
  const q = stopped.questions[0];
  assert.ok(q.agreement < 0.95 && q.minAgreement === 0.95 && q.total === 4 && q.remembered >= 0 && q.remembered <= 4, JSON.stringify(q));
  assert.equal(q.rollbackStep, q.step - 1);
  assert.equal(stopped.result.stopped, 'guard');
  assert.deepEqual(stopped.result.guard.tripped, { step: q.step, agreement: q.agreement, action: 'stop', answer: 'stop', rolledBackToStep: q.step - 1 });
  assert.ok(stopped.result.guard.agreement >= 0.95, 'rolled back, agreement passes again');

  const continued = await run('continue');
  assert.equal(continued.questions.length, 1, 'asked once, however far agreement falls after');
  assert.equal(continued.result.stopped, 'max-epochs');
  assert.equal(continued.result.steps, 10, 'the run carried on past the question to the cap');
  assert.equal(continued.result.guard.tripped?.answer, 'continue');
  assert.equal(continued.result.guard.tripped?.action, 'report');

  const nobody = await run();
  assert.equal(nobody.result.stopped, 'guard');
  assert.equal(nobody.result.guard.tripped?.action, 'stop');
  assert.equal(nobody.result.guard.tripped?.answer, undefined);
  assert.equal(nobody.result.steps, stopped.result.steps, 'nobody to ask = the answer "stop"');
});

test('an unknown guard action is refused with the choices', () => {
  assert.throws(() => resolveOptions({ guard: { action: 'pause' as never } }), /guard\.action must be one of report, stop, ask/);
});

test('relabel moves every instance to its new label and stops there', async () => {
  const model = tinyModel();
  const forget = randomForgetSet(4);
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  const newLabels = Array.from(forget.labels, (y) => (y + 1) % 3);
  const result = await unlearn(
    model,
    forget,
    resolveOptions({ method: 'adv+imp', objective: { kind: 'relabel', labels: newLabels }, learningRate: 0.05, maxEpochs: 300, attack: quickAttack }),
  );
  assert.equal(result.stopped, 'forgotten');
  assert.deepEqual(Array.from(await predictClasses(model, forget.images, forget.imageShape)), newLabels);
  model.dispose();
});

test('oracle: the negative gradient paired with remaining training data; without that data it says what it needs', async () => {
  const model = tinyModel();
  const forget = randomForgetSet(4);
  forget.labels = await predictClasses(model, forget.images, forget.imageShape);
  const options = resolveOptions({ method: 'oracle', learningRate: 0.05, maxEpochs: 200, retainBatchSize: 8 });
  await assert.rejects(
    unlearn(model, forget, options),
    (e: unknown) => e instanceof UserInputError && /oracle method needs the remaining training data/.test((e as Error).message),
  );
  // Remaining data with labels of every class (this tiny model predicts one class for most random images).
  const remaining = randomForgetSet(24, 7);
  const retain = { images: remaining.images, labels: remaining.labels };
  const naiveModel = tinyModel();
  const naive = await unlearn(naiveModel, forget, resolveOptions({ method: 'naive', learningRate: 0.05, maxEpochs: 200 }));
  const oracle = await unlearn(model, forget, options, { retain });
  assert.equal(oracle.stopped, 'forgotten');
  assert.notDeepEqual(
    oracle.layerChanges.map((c) => c.delta),
    naive.layerChanges.map((c) => c.delta),
    'the retain batch changes the updates',
  );
  const again = tinyModel();
  await assertNoLeak(
    () => unlearn(again, forget, resolveOptions({ method: 'oracle', learningRate: 1e-4, maxEpochs: 2, retainBatchSize: 8 }), { retain }),
    (a, b, m) => assert.equal(a, b, `oracle: ${m}`),
  );
  again.dispose();
  model.dispose();
  naiveModel.dispose();
});

test('fixed adversarial order: consecutive batches of the set, the same every epoch, drawing nothing', () => {
  const rng = new Rng(5);
  const loader = new Loader(10, 4, rng, false);
  const epochs = Array.from({ length: 3 }, () => Array.from({ length: loader.batchesPerEpoch }, () => loader.next()));
  for (const epoch of epochs)
    assert.deepEqual(epoch, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  // The forget loader shares the generator: the fixed order leaves it untouched.
  assert.equal(rng.next(), new Rng(5).next());
  // Shuffled: every index once per epoch, in an order that changes.
  const shuffled = new Loader(10, 4, new Rng(5));
  const passes = Array.from({ length: 2 }, () => Array.from({ length: shuffled.batchesPerEpoch }, () => shuffled.next()).flat());
  for (const pass of passes)
    assert.deepEqual(
      [...pass].sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i),
    );
  assert.notDeepEqual(passes[0], passes[1]);
});

test('ADV pairs the forget batches with the adversarial set in its repetition-major order (paper), or reshuffled', async () => {
  // 4 instances x 3 rounds = 12 examples, laid out e = r * 4 + i, in batches of 4: batch b is round b.
  // Round 2 (examples 8..11) is poisoned with NaN images: a step that trains on one diverges.
  const forget = randomForgetSet(4);
  const size = 64;
  const model0 = tinyModel();
  forget.labels = await predictClasses(model0, forget.images, forget.imageShape);
  model0.dispose();
  const count = 12;
  const images = new Float32Array(count * size);
  for (let e = 0; e < count; e++) {
    const i = e % 4;
    for (let p = 0; p < size; p++) images[e * size + p] = e >= 8 ? NaN : forget.images[i * size + p];
  }
  const sources = Int32Array.from({ length: count }, (_, e) => e % 4);
  const targets = Int32Array.from(sources, (i) => (forget.labels[i] + 1) % 3);
  const adversarial = { images, sources, targets, predicted: Int32Array.from(targets) };
  const run = async (adversarialOrder: 'fixed' | 'shuffled') => {
    const model = tinyModel();
    const options = resolveOptions({ method: 'adv', learningRate: 1e-6, maxEpochs: 5, adversarialBatchSize: 4, adversarialOrder, attack: quickAttack });
    const result = await unlearn(model, forget, options, { adversarial });
    model.dispose();
    return result;
  };
  const fixed = await run('fixed');
  // Rounds 0 and 1 train; the third step meets round 2 and is refused.
  assert.equal(fixed.stopped, 'diverged');
  assert.equal(fixed.steps, 2);
  const shuffled = await run('shuffled');
  assert.equal(shuffled.stopped, 'diverged');
  assert.ok(shuffled.steps < 2, `a reshuffled first epoch meets a poisoned example within two steps here (after ${shuffled.steps})`);
});
