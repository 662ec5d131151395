import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { damageHeadline, damageOf, forgottenNames, instanceName, plural, relativeTime, runRow } from '../../src/shared/runView';
import { backendLabel, expectedBackend } from '../../src/extension/backendStatus';

const guard = (over: object = {}) => ({ agreement: 0.97, minAgreement: 0.95, probeSize: 592, ...over });
const record = {
  id: '2026-12-02T10-00-00-000-adv-imp',
  createdAt: '2026-12-02T10:00:00.000Z',
  backend: 'wasm (XNNPACK, SIMD) with Unlearn Lens training kernels',
  steps: 1,
  stopped: 'forgotten' as const,
  options: { method: 'adv+imp' },
  forget: { ids: ['/w/data/train/Sandal/017.png', '/w/data/train/Bag/003.png', 'C:\\w\\train\\Bag\\004.png'] },
  before: { forget: 1, test: 0.887 },
  after: { forget: 0, test: 0.86 },
  seconds: { total: 12.34 },
  guard: guard(),
};

test('plural', () => {
  assert.equal(plural(1, 'step'), '1 step');
  assert.equal(plural(0, 'step'), '0 steps');
  assert.equal(plural(3, 'instance is', 'instances are'), '3 instances are');
});

test('a run is damage when the guard tripped and it carried on, or test accuracy fell 5 points or more', () => {
  assert.deepEqual(damageOf(record).reasons, [], '−2.7 points and no trip');
  const dropped = damageOf({ ...record, after: { forget: 0, test: 0.533 } });
  assert.deepEqual(dropped.reasons, ['test accuracy fell from 88.7 % to 53.3 % (−35.4 points)']);
  assert.equal(damageOf({ ...record, before: { forget: 1, test: 0.9 }, after: { forget: 0, test: 0.85 } }).reasons.length, 1, 'exactly 5 points');
  const tripped = damageOf({ ...record, guard: guard({ minAgreement: 0.853, tripped: { step: 10, agreement: 0.896, action: 'report' } }) });
  assert.deepEqual(tripped.reasons, [
    'the collateral-damage guard tripped at step 10 (agreement with the original model 89.6 %, lowest 85.3 %) and the run carried on',
  ]);
  // Stopped and rolled back to a check that passed: the model kept is not the damaged one.
  assert.deepEqual(damageOf({ ...record, guard: guard({ tripped: { step: 10, agreement: 0.8, action: 'stop', rolledBackToStep: 0 } }) }).reasons, []);
  assert.deepEqual(damageOf({ ...record, before: { forget: 1 }, after: { forget: 0 } }), { reasons: [] }, 'no held-out data: no test figure');
  assert.equal(
    damageHeadline(
      damageOf({ ...record, after: { forget: 0, test: 0.533 }, guard: guard({ minAgreement: 0.8, tripped: { step: 10, agreement: 0.85, action: 'report' } }) }),
    ),
    'Unlearn: the model was damaged: test accuracy fell from 88.7 % to 53.3 % (−35.4 points); the collateral-damage guard tripped at step 10 (agreement with the original model 85.0 %, lowest 80.0 %) and the run carried on.',
  );
  assert.equal(damageHeadline(damageOf(record)), '');
});

test('relative times', () => {
  const now = new Date('2026-12-02T12:00:00.000Z');
  assert.equal(relativeTime('2026-12-02T11:59:30.000Z', now), 'just now');
  assert.equal(relativeTime('2026-12-02T11:55:00.000Z', now), '5 min ago');
  assert.equal(relativeTime('2026-12-02T09:00:00.000Z', now), '3 h ago');
  assert.equal(relativeTime('2026-12-01T09:00:00.000Z', now), 'yesterday');
  assert.equal(relativeTime('2026-11-28T12:00:00.000Z', now), '4 days ago');
  assert.equal(relativeTime('2026-10-01T12:00:00.000Z', now), '2026-10-01');
});

test('instances are named by class folder and file, the first few and how many more', () => {
  assert.equal(instanceName('/w/data/train/Sandal/017.png'), 'Sandal/017.png');
  assert.equal(instanceName('C:\\w\\train\\Bag\\004.png'), 'Bag/004.png');
  assert.equal(forgottenNames(record.forget.ids), 'Sandal/017.png, Bag/003.png and 1 more');
  assert.equal(forgottenNames(record.forget.ids.slice(0, 2)), 'Sandal/017.png, Bag/003.png');
  assert.equal(forgottenNames([]), 'nothing');
});

test('a run row: method, k and when in the label; what was forgotten and the test figures beside; damage marked', () => {
  const now = new Date('2026-12-02T10:05:00.000Z');
  const clean = runRow(record, true, now);
  assert.equal(clean.label, 'adv+imp, k = 3 · 5 min ago');
  assert.equal(clean.description, 'active · Sandal/017.png, Bag/003.png and 1 more · test 88.7 % → 86.0 %');
  assert.equal(clean.damaged, false);
  assert.ok(clean.tooltip.includes('Forgot: Sandal/017.png, Bag/003.png, Bag/004.png'));
  assert.ok(clean.tooltip.includes('Test accuracy (held-out data): 88.7 % → 86.0 % (−2.7 points)'));
  assert.match(clean.tooltip.join('\n'), /^1 step, every instance forgotten; 12\.3 s on wasm/m);
  assert.match(runRow({ ...record, stopped: 'settled' }, true, now).tooltip.join('\n'), /^1 step, settled short of some targets; /m);
  assert.match(runRow({ ...record, stopped: 'max-epochs' }, true, now).tooltip.join('\n'), /^1 step, stopped at the epoch cap; /m);
  const damaged = runRow({ ...record, after: { forget: 0, test: 0.533 } }, false, now);
  assert.equal(damaged.damaged, true);
  assert.match(damaged.description, /^damaged · /);
  assert.ok(damaged.tooltip.includes('Damage: test accuracy fell from 88.7 % to 53.3 % (−35.4 points).'));
});

test('the status bar names the backend before the engine starts: wasm for certain unless a native package is in reach', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-none-'));
  assert.deepEqual(expectedBackend({ choice: 'auto', searchPaths: [empty] }), { name: 'wasm', certain: true });
  assert.deepEqual(expectedBackend({ choice: 'cpu', searchPaths: [] }), { name: 'cpu', certain: true });
  assert.deepEqual(expectedBackend({ choice: 'tfjs-node', searchPaths: [empty] }), { name: 'tfjs-node', certain: false });
  const withNative = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-native-'));
  const pkg = path.join(withNative, 'node_modules', '@tensorflow', 'tfjs-node');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', main: 'index.js' }));
  fs.writeFileSync(path.join(pkg, 'index.js'), 'throw new Error("never loaded by the prediction");\n');
  assert.deepEqual(expectedBackend({ choice: 'auto', searchPaths: [empty, withNative] }), { name: 'tfjs-node', certain: false });
  assert.deepEqual(expectedBackend({ choice: 'webgpu', searchPaths: [empty] }), { name: 'webgpu', certain: false });
  // Dawn for Node in reach: auto may take a GPU, so wasm is only expected.
  const withDawn = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-dawn-'));
  fs.mkdirSync(path.join(withDawn, 'node_modules', 'webgpu'), { recursive: true });
  fs.writeFileSync(path.join(withDawn, 'node_modules', 'webgpu', 'package.json'), JSON.stringify({ name: 'webgpu', main: 'index.js' }));
  fs.writeFileSync(path.join(withDawn, 'node_modules', 'webgpu', 'index.js'), 'throw new Error("never loaded by the prediction");\n');
  assert.deepEqual(expectedBackend({ choice: 'auto', searchPaths: [empty, withDawn] }), { name: 'wasm', certain: false });
  assert.equal(backendLabel({ choice: 'webgpu', name: 'webgpu' }), 'webgpu');
  assert.equal(backendLabel({ choice: 'tfjs-node-gpu', name: 'tensorflow' }), 'tfjs-node-gpu');
  assert.equal(backendLabel({ choice: 'wasm', name: 'wasm' }), 'wasm');
});
