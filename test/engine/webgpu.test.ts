/**
 * The WebGPU backend's choice rules, everywhere: which adapters count as software (auto leaves
 * those to wasm), the error when webgpu is forced and Dawn finds no adapter, and that Node exits by
 * itself after a webgpu run. Under `npm run test:webgpu` (lavapipe) also: auto refuses the software
 * adapter, and a forced run really computes on webgpu.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { summariseAdapter } from '../../src/engine/runtime/webgpu';
import { initBackend } from '../../src/engine/runtime/backend';
import { classFolderFixture } from './helpers';

const root = path.join(__dirname, '../..');
const onWebGpu = process.env.UNLEARN_LENS_TEST_BACKEND === 'webgpu';

/**
 * Runs `code` (an async function body that may `require` the TypeScript sources) in a fresh Node,
 * so that a hang shows as a timeout instead of a stuck test run.
 */
function runNode(
  code: string,
  env: NodeJS.ProcessEnv = process.env,
  timeout = 120_000,
): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `(async () => { ${code} })().catch((e) => { console.error(e); process.exitCode = 1; });`], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const backendModule = JSON.stringify(path.join(root, 'src/engine/runtime/backend.ts'));

test('software adapters (lavapipe, SwiftShader, WARP, a fallback adapter) are told apart from GPUs', () => {
  // What Dawn reports for Mesa 25's lavapipe (measured here).
  const lavapipe = summariseAdapter({
    vendor: 'mesa',
    architecture: 'software',
    device: 'llvmpipe-llvm-15-0-6-256-bits-',
    description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
  });
  assert.equal(lavapipe.software, true);
  assert.equal(summariseAdapter({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' }).software, true);
  assert.equal(summariseAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }).software, true);
  assert.equal(
    summariseAdapter({ vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4090' }, true).software,
    true,
    'a fallback adapter is software whatever it says',
  );
  const nvidia = summariseAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' });
  assert.equal(nvidia.software, false);
  assert.equal(summariseAdapter({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' }).software, false);
  assert.equal(summariseAdapter({}).software, false);
});

test(
  'webgpu forced with no adapter: a clear error that names the way out, and Node exits',
  { skip: process.platform !== 'linux' && 'needs the Vulkan loader (Linux)' },
  () => {
    // An ICD list naming no file: the Vulkan loader finds no driver, so Dawn has no adapter.
    const env = { ...process.env, VK_ICD_FILENAMES: path.join(root, 'no-such-icd.json'), VK_DRIVER_FILES: path.join(root, 'no-such-icd.json') };
    const r = runNode(
      `const { initBackend } = require(${backendModule}); try { await initBackend({ choice: 'webgpu' }); console.log('started'); } catch (e) { console.log('ERROR ' + e.name + ': ' + e.message); }`,
      env,
    );
    assert.equal(r.signal, null, `Node did not exit by itself (killed by ${r.signal})`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ERROR UserInputError: .*WebGPU/);
    assert.match(r.stdout, /--backend wasm/, 'the error should name the built-in backend as the way out');
  },
);

test('Node exits by itself after computing on webgpu', { skip: !onWebGpu && 'runs under npm run test:webgpu' }, () => {
  const r = runNode(
    `const { initBackend, tf } = require(${backendModule});
     const info = await initBackend({ choice: 'webgpu' });
     const w = tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 1));
     const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 2);
     const g = tf.variableGrads(() => tf.sum(tf.square(tf.conv2d(x, w, 1, 'same'))), [w]);
     console.log(info.name, tf.getBackend(), (await g.grads[w.name].data()).length);`,
  );
  assert.equal(r.signal, null, `Node did not exit by itself after a webgpu run (killed by ${r.signal})`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'webgpu webgpu 72');
});

test('auto does not take a software adapter: lavapipe is there, wasm is chosen', { skip: !onWebGpu && 'runs under npm run test:webgpu' }, () => {
  const r = runNode(
    `const { initBackend } = require(${backendModule}); const info = await initBackend({ choice: 'auto' }); console.log(info.name + ' | ' + info.description);`,
  );
  assert.equal(r.status, 0, r.stderr);
  // Why depends on the machine: a software renderer, or (Linux) no GPU device at all, so Dawn is not asked.
  assert.match(r.stdout, /^wasm \| .*; no WebGPU: .*(software renderer|no GPU device)/m, 'auto should fall back to wasm and say why');
});

test('the CLI forgets two images on webgpu, says so, and exits', { skip: !onWebGpu && 'runs under npm run test:webgpu' }, async () => {
  await initBackend({ choice: 'cpu' }); // only to write the fixture; the CLI below runs in its own process
  const { model, files } = await classFolderFixture('unlearn-webgpu-');
  const cli = path.join(root, 'src/cli/main.ts');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', cli, 'unlearn', '--backend', 'webgpu', '--model', model, '--method', 'naive', '--max-epochs', '20', files[2], files[3]],
    { cwd: root, encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(r.signal, null, `the CLI did not exit by itself (killed by ${r.signal})`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Unlearn: 2 of 2 forgotten in \d+ steps\./m);
  assert.match(r.stdout, / s on webgpu \(Dawn from /, 'the run record should name the webgpu backend');
});
