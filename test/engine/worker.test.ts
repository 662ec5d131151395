// The engine worker's protocol (src/contracts/protocol.ts), over a real worker thread running the
// TypeScript source: results, error replies that keep UserInputError's file, progress, cancel.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { initBackend } from '../../src/engine/runtime/backend';
import { classFolderFixture } from './helpers';
import type {
  AdversarialPreview,
  EngineProgress,
  EngineRequest,
  GuardAnswer,
  GuardTrip,
  HostToWorker,
  RunRecord,
  WorkerToHost,
} from '../../src/contracts/protocol';

// A worker cannot start from a .ts file directly: register tsx's CommonJS hook first, then load it.
const workerSource = path.join(__dirname, '..', '..', 'src', 'engine', 'runtime', 'worker.ts');
const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(workerSource)});`, { eval: true });
after(() => worker.terminate());

let nextId = 1;
function call(
  request: EngineRequest,
  onProgress?: (p: EngineProgress) => void,
  onQuestion?: (trip: GuardTrip) => GuardAnswer,
): { id: number; result: Promise<unknown> } {
  const id = nextId++;
  const result = new Promise((resolve, reject) => {
    const listener = (m: WorkerToHost) => {
      if (m.id !== id) return;
      if (m.type === 'progress') return onProgress?.(m.progress);
      if (m.type === 'question') {
        if (onQuestion) worker.postMessage({ type: 'answer', id, answer: onQuestion(m.trip) } satisfies HostToWorker);
        return;
      }
      worker.off('message', listener);
      if (m.type === 'result') resolve(m.result);
      else reject(m.error);
    };
    worker.on('message', listener);
  });
  worker.postMessage({ type: 'request', id, request } satisfies HostToWorker);
  return { id, result };
}

async function fixture(): Promise<{ dir: string; model: string; files: string[] }> {
  await initBackend({ choice: 'cpu' });
  return classFolderFixture('unlearn-worker-');
}

const backend = { choice: 'cpu' as const, searchPaths: [] };

test('an unlearn request reports progress and answers with a run record; the original is untouched', async () => {
  const { model, files } = await fixture();
  const original = fs.readFileSync(model);
  const phases = new Set<string>();
  const { result } = call(
    {
      kind: 'unlearn',
      backend,
      modelPath: model,
      versionsDir: `${path.dirname(model)}.versions`,
      selection: { kind: 'files', paths: files.slice(2, 4) },
      options: { method: 'naive', maxEpochs: 3 },
      resize: 'none',
    },
    (p) => phases.add(p.phase),
  );
  const record = (await result) as { forget: { ids: string[]; classNames: string[] }; result: { path: string } };
  // The b images: the fixture's model predicts b for every image, so these are remembered (a or c ones would leave nothing to forget).
  assert.deepEqual(record.forget.ids, files.slice(2, 4));
  assert.deepEqual(record.forget.classNames, ['a', 'b', 'c']);
  assert.ok(fs.existsSync(record.result.path));
  assert.ok(phases.has('load') && phases.has('save'), [...phases].join(','));
  assert.deepEqual(fs.readFileSync(model), original);
});

test('an ADV run answers with an adversarial preview for the report, and its run.json never holds one', async () => {
  const { model, files } = await fixture();
  const { result } = call({
    kind: 'unlearn',
    backend,
    modelPath: model,
    versionsDir: `${path.dirname(model)}.versions`,
    selection: { kind: 'files', paths: files.slice(0, 3) },
    options: { method: 'adv', maxEpochs: 2, attack: { steps: 3, examplesPerInstance: 2, epsilon: 1 } },
    resize: 'none',
  });
  const record = (await result) as RunRecord;
  assert.deepEqual(record.preview?.imageShape, [8, 8, 1]);
  // All of them (2 per instance), by instance.
  assert.deepEqual(
    record.preview?.examples.map((e) => e.instance),
    [0, 0, 1, 1, 2, 2],
  );
  for (const e of record.preview!.examples) {
    assert.equal(e.original.length, 64);
    assert.ok(e.l2 > 0 && e.l2 <= 1 + 1e-4, `inside the L2 ball of radius 1: ${e.l2}`);
  }
  const saved = fs.readFileSync(path.join(path.dirname(record.result.path), 'run.json'), 'utf8');
  assert.ok(!saved.includes('preview') && !saved.includes('"original"'), 'no adversarial pixels on disk');
  assert.equal(JSON.parse(saved).adversarial.examples, 6);
  // After a reload the report asks for them again: the same attack from the model the run started from gives the same examples.
  const again = (await call({
    kind: 'adversarial',
    backend,
    modelPath: record.model.path,
    instances: record.forget.ids.map((file, i) => ({ file, label: record.forget.labels[i] })),
    options: record.options,
    resize: 'none',
  }).result) as AdversarialPreview;
  assert.equal(again.examples.length, 6);
  again.examples.forEach((e, i) => {
    const was = record.preview!.examples[i];
    assert.deepEqual([e.instance, e.target, e.predicted], [was.instance, was.target, was.predicted]);
    assert.deepEqual(Array.from(e.adversarial), Array.from(was.adversarial), `example ${i}: the same pixels`);
    assert.ok(Math.abs(e.l2 - was.l2) < 1e-6);
  });
});

test('an error reply carries the UserInputError and its file', async () => {
  const { dir, model } = await fixture();
  const bad = path.join(dir, 'data', 'train', 'a', 'broken.png');
  fs.writeFileSync(bad, 'not an image');
  await assert.rejects(
    call({
      kind: 'unlearn',
      backend,
      modelPath: model,
      versionsDir: `${path.dirname(model)}.versions`,
      selection: { kind: 'files', paths: [bad] },
      options: {},
      resize: 'none',
    }).result,
    (e: { name: string; file?: string; message: string }) => e.name === 'UserInputError' && e.file === bad && /not a PNG or JPEG/.test(e.message),
  );
});

test('cancel stops a run with CancelledError and writes nothing', async () => {
  const { model, files } = await fixture();
  const versions = `${path.dirname(model)}.versions`;
  let cancelled = false;
  const { id, result } = call(
    {
      kind: 'unlearn',
      backend,
      modelPath: model,
      versionsDir: versions,
      selection: { kind: 'files', paths: files },
      options: { method: 'adv', attack: { steps: 100000, examplesPerInstance: 2 } },
      resize: 'none',
    },
    (p) => {
      if (p.phase === 'attack' && !cancelled) {
        cancelled = true;
        worker.postMessage({ type: 'cancel', id } satisfies HostToWorker);
      }
    },
  );
  await assert.rejects(result, (e: { name: string }) => e.name === 'CancelledError');
  assert.equal(fs.existsSync(versions), false);
});

test('a guard that asks puts the question to the host and takes its answer; a cancel while it waits writes nothing', async () => {
  const { dir, model, files } = await fixture();
  // The fixture's model predicts class b for every image: forgetting the two b images changes its
  // predictions, and any change on the probe (the six training images as held-out data) trips the
  // guard; a stop margin no run reaches keeps the run going to its cap of 5 epochs.
  const request = (versionsDir: string): EngineRequest => ({
    kind: 'unlearn',
    backend,
    modelPath: model,
    versionsDir,
    selection: { kind: 'files', paths: files.slice(2, 4) },
    options: { method: 'naive', learningRate: 1, maxEpochs: 5, stopMargin: 1e6, guard: { minAgreement: 1, every: 1, action: 'ask' } },
    resize: 'none',
    testData: path.join(dir, 'data', 'train'),
  });
  const trips: GuardTrip[] = [];
  const record = (await call(request(path.join(dir, 'v1')), undefined, (trip) => (trips.push(trip), 'continue')).result) as {
    steps: number;
    guard: { tripped?: { answer?: string; step: number } };
  };
  assert.equal(trips.length, 1);
  assert.ok(trips[0].agreement < 1 && trips[0].total === 2, JSON.stringify(trips[0]));
  assert.equal(record.guard.tripped?.answer, 'continue');
  assert.equal(record.steps, 5);

  const versions = path.join(dir, 'v2');
  const pending = call(request(versions), undefined, () => {
    worker.postMessage({ type: 'cancel', id: pending.id } satisfies HostToWorker);
    return 'continue';
  });
  await assert.rejects(pending.result, (e: { name: string }) => e.name === 'CancelledError');
  assert.equal(fs.existsSync(versions), false);
});

test('checkManifest reports problems by line', async () => {
  const { dir, model } = await fixture();
  const manifest = path.join(dir, 'data', 'm.jsonl');
  fs.writeFileSync(
    manifest,
    ['{"path":"train/a/0.png","label":"a"}', '{"path":"train/a/9.png","label":"a"}', '{"path":"train/b/0.png","label":"z"}'].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'data', 'classes.json'), JSON.stringify(['a', 'b', 'c']));
  const res = (await call({ kind: 'checkManifest', manifest, modelPath: model, resize: 'none' }).result) as { problems: Array<{ line: number; kind: string }> };
  assert.deepEqual(
    res.problems.map((p) => [p.line, p.kind]),
    [
      [1, 'missing-file'],
      [2, 'unknown-label'],
    ],
  );
});
