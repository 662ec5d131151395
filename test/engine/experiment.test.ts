/**
 * The experiment protocol with methods in parallel worker threads gives exactly the results of
 * running them one after another in process (same model copy, forget set, adversarial set, seed).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { runExperiment, type ExperimentRequest } from '../../src/engine/jobs/experiment';
import { captureArtifacts } from '../../src/engine/data/modelIo';
import type { Dataset } from '../../src/engine/data/dataset';
import { Rng } from '../../src/engine/core/rng';
import { predictClasses } from '../../src/engine/core/modelState';
import { tinyModel, useBackend } from './helpers';

let backend = '';
before(async () => {
  backend = await useBackend();
});

function randomDataset(count: number, seed: number, name: string): Dataset {
  const rng = new Rng(seed);
  return {
    name,
    imageShape: [8, 8, 1],
    images: Float32Array.from({ length: count * 64 }, () => rng.next()),
    labels: Int32Array.from({ length: count }, () => rng.int(3)),
    classNames: ['a', 'b', 'c'],
  };
}

test('methods in parallel worker threads give the same results as in order, in plan order', async () => {
  const model = tinyModel(3);
  // Labels = the model's own predictions, so that there is something to forget.
  const train = randomDataset(60, 5, 'random/train');
  train.labels = await predictClasses(model, train.images, train.imageShape);
  const request: ExperimentRequest = {
    loaded: { model, artifacts: await captureArtifacts(model), file: 'tiny/model.json', sha256: '-' },
    modelName: 'tiny',
    train,
    test: randomDataset(30, 6, 'random/test'),
    k: 4,
    seed: 1,
    methods: ['naive', 'adv', 'imp', 'adv+imp', 'oracle'],
    backend,
    retainSubsetSize: 20,
    options: { maxEpochs: 4, attack: { steps: 3, examplesPerInstance: 2, workers: 1 } },
  };
  const finished: string[] = [];
  const sequential = await runExperiment({ ...request, concurrency: 1 });
  const parallel = await runExperiment({ ...request, concurrency: 2, onRun: (run) => finished.push(run.method) });
  assert.deepEqual(
    parallel.runs.map((r) => r.method),
    ['naive', 'adv', 'imp', 'adv+imp', 'oracle'],
  );
  assert.deepEqual(finished.slice().sort(), ['adv', 'adv+imp', 'imp', 'naive', 'oracle']);
  for (const [i, a] of sequential.runs.entries()) {
    const b = parallel.runs[i];
    for (const key of ['forget', 'retain', 'test', 'steps', 'stopped'] as const) assert.equal(b[key], a[key], `${a.method}.${key}`);
    assert.deepEqual(b.layerChanges, a.layerChanges, `${a.method} layer changes`);
    assert.deepEqual(b.guard.agreement, a.guard.agreement, `${a.method} guard`);
    assert.deepEqual(b.audit, a.audit, `${a.method} membership audit`);
    assert.equal(a.audit?.pairs, 4, `${a.method}: k = 4 is audited`);
  }
  assert.equal(sequential.auditBefore?.pairs, 4);
  assert.equal(sequential.before.forget, 1);
  assert.ok(
    sequential.runs.every((r) => r.steps > 0),
    'every method took steps',
  );
  model.dispose();
});

test('cancelling a parallel experiment stops its worker threads and rejects with CancelledError', async () => {
  const model = tinyModel(4);
  const train = randomDataset(60, 7, 'random/train');
  train.labels = await predictClasses(model, train.images, train.imageShape);
  const controller = new AbortController();
  const t0 = Date.now();
  const running = runExperiment({
    loaded: { model, artifacts: await captureArtifacts(model), file: 'tiny/model.json', sha256: '-' },
    modelName: 'tiny',
    train,
    test: randomDataset(30, 8, 'random/test'),
    k: 3,
    seed: 2,
    methods: ['naive', 'imp'],
    backend,
    retainSubsetSize: 20,
    // A forget term that never finishes on its own: the run must be stopped.
    options: { maxEpochs: 100000, stopMargin: 1e6 },
    concurrency: 2,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 1500);
  await assert.rejects(running, (e: Error) => e.name === 'CancelledError');
  assert.ok(Date.now() - t0 < 10_000, 'stops within seconds');
  model.dispose();
});
