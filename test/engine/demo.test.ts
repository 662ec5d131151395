/**
 * End to end: `unlearn-lens demo` on the embedded model at small k, through the real CLI, and the
 * JSON shape other tools read. (A short epoch cap keeps it fast; the full protocol is `npm run demo`.)
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = path.join(__dirname, '../../src/cli/main.ts');

test('demo at k = 2 prints a table and writes the documented JSON', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'unlearn-lens-demo-'));
  const json = path.join(dir, 'demo.json');
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      'demo',
      '--model',
      'fmnist-resnet8-w16-aug',
      '--k',
      '2',
      '--seed',
      '3',
      '--methods',
      'naive,imp',
      '--max-epochs',
      '40',
      '--backend',
      'wasm',
      '--json',
      json,
    ],
    {
      timeout: 300_000,
    },
  );
  assert.match(stdout, /method\s+forget\s+retain\s+test/);
  assert.match(stdout, /^naive /m);
  const result = JSON.parse(await fs.readFile(json, 'utf8'));
  assert.equal(typeof result.dataset, 'string');
  assert.equal(result.model, 'fmnist-resnet8-w16-aug');
  assert.equal(result.backend, 'wasm');
  assert.equal(result.k, 2);
  assert.equal(result.seed, 3);
  const fraction = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;
  for (const key of ['forget', 'retain', 'test']) assert.ok(fraction(result.before[key]), `before.${key}`);
  assert.ok(result.before.test > 0.8, 'the embedded model should classify its test data well');
  assert.deepEqual(
    result.runs.map((r: { method: string }) => r.method),
    ['naive', 'imp'],
  );
  for (const r of result.runs) {
    for (const key of ['forget', 'retain', 'test']) assert.ok(fraction(r[key]), `${r.method}.${key}`);
    assert.ok(Number.isInteger(r.steps) && r.steps >= 0);
    assert.ok(typeof r.seconds === 'number' && r.seconds >= 0);
    assert.ok(['forgotten', 'max-epochs', 'guard'].includes(r.stopped));
    if (r.stopped === 'forgotten') assert.equal(r.forget, 0);
  }
});

test('demo refuses bad arguments with a clear message and exit code 2', async () => {
  await assert.rejects(run(process.execPath, ['--import', 'tsx', cli, 'demo', '--methods', 'naive,forgetful']), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /Unknown method "forgetful"; choose from naive, adv, imp, adv\+imp/);
    return true;
  });
  await assert.rejects(
    run(process.execPath, ['--import', 'tsx', cli, 'demo', '--json', path.join(__dirname, '../../models/fmnist-cnn16/out.json')]),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /--json .*out\.json is inside the embedded model fmnist-cnn16/);
      return true;
    },
  );
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'unlearn-lens-demo-json-'));
  const notOurs = path.join(dir, 'notes.json');
  await fs.writeFile(notOurs, '{"mine": true}');
  await assert.rejects(run(process.execPath, ['--import', 'tsx', cli, 'demo', '--json', notOurs]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /already exists and is not an earlier demo result; it is never overwritten/);
    return true;
  });
  assert.equal(await fs.readFile(notOurs, 'utf8'), '{"mine": true}');
  await assert.rejects(run(process.execPath, ['--import', 'tsx', cli, 'demo', '--model', 'nope']), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /Unknown embedded model "nope"; choose from .*fmnist-cnn16.*fmnist-resnet8-w16-aug/);
    return true;
  });
});
