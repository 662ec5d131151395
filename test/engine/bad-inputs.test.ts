/**
 * The bad-input corpus (tools/bad-inputs.ts) through the real CLI: every case exits as it should
 * (2 with a message naming the file and the fix, or 0 when handled: merged, nothing to forget), no
 * case hangs or shows a stack, and no input changes by a byte. Then cancel and kill during the
 * save: SIGINT/SIGTERM leave no version and no leftovers; SIGKILL's leftovers go with the next run.
 * Property tests (fast-check) over --lines and manifest parsing.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import fc from 'fast-check';
import { hashInputs, judge, makeCorpus, runCase, sha256, type Corpus } from '../../tools/bad-inputs';
import { MAX_SELECTED_LINES, parseLines } from '../../src/cli/unlearn';
import { parseManifest } from '../../src/engine/data/manifest';
import { CancelledError, UserInputError } from '../../src/contracts/errors';
import { captureArtifacts, removeStaleTemporaryFolders, saveModelAtomically } from '../../src/engine/data/modelIo';
import { tinyModel } from './helpers';
import { imageHeaderSize } from '../../src/engine/data/inputFiles';
import { pngHeaderOnly, jpegHeaderOnly } from '../../tools/bad-inputs';

let corpus: Corpus;
before(async () => {
  corpus = await makeCorpus();
});

test('every bad input exits as it should, names the file, never hangs, and changes no input', { concurrency: 4 }, async (t) => {
  const hashes = hashInputs(corpus.inputs);
  assert.ok(hashes.size >= 20, 'the corpus hashes its inputs');
  await Promise.all(
    corpus.cases.map((c) =>
      t.test(`${c.group}: ${c.name}`, async () => {
        const r = await runCase(corpus.cli, c, 90_000);
        assert.equal(judge(c, r), undefined, `${c.name}:\n${r.output}`);
      }),
    ),
  );
  for (const [file, hash] of hashes) assert.equal(sha256(file), hash, `${file} changed`);
  // Refused runs leave nothing; each handled run that forgot something left one whole version.
  const versions = fs.readdirSync(`${path.dirname(corpus.model)}.versions`);
  assert.equal(versions.filter((v) => v.startsWith('.')).length, 0, `leftovers: ${versions.join(', ')}`);
  assert.equal(versions.length, corpus.cases.filter((c) => c.names.includes('new version:')).length, versions.join(', '));
  for (const v of versions)
    for (const f of ['model.json', 'weights.bin', 'run.json']) assert.ok(fs.existsSync(path.join(`${path.dirname(corpus.model)}.versions`, v, f)), `${v}/${f}`);
  assert.ok(fs.statSync(`${path.dirname(path.dirname(corpus.model))}/blocked.versions`).isFile(), 'the file in the way of a versions folder is left alone');
});

/** Runs unlearn on a copy of the corpus model; `signal` is sent once the save pauses before its rename. */
function runUntilSave(
  model: string,
  forget: string,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; killedBy: NodeJS.Signals | null; output: string }> {
  const child = spawn(process.execPath, [corpus.cli, 'unlearn', '--backend', 'cpu', '--method', 'naive', '--max-epochs', '1', '--model', model, forget], {
    env: { ...process.env, UNLEARN_LENS_TEST_SAVE_PAUSE_MS: '60000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let sent = false;
  const onData = (d: Buffer) => {
    output += d;
    if (!sent && output.includes('[test] save paused before the rename')) {
      sent = true;
      child.kill(signal);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      resolve({ code, killedBy, output });
    }),
  );
}

test('SIGINT or SIGTERM during the save writes nothing; SIGKILL leftovers are removed by the next run', async () => {
  const forget = path.join(corpus.dir, 'data', 'train', 'b', '1.png');
  const source = path.dirname(corpus.model);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const dir = path.join(corpus.dir, 'models', `cancel-${signal}`);
    fs.cpSync(source, dir, { recursive: true });
    const r = await runUntilSave(path.join(dir, 'model.json'), forget, signal);
    assert.equal(r.code, code, r.output);
    assert.match(r.output, /nothing was written/);
    assert.doesNotMatch(r.output, /new version:/, r.output);
    const left = fs.existsSync(`${dir}.versions`) ? fs.readdirSync(`${dir}.versions`) : [];
    assert.deepEqual(left, [], `${signal} left ${left.join(', ')}`);
  }
  const dir = path.join(corpus.dir, 'models', 'killed');
  fs.cpSync(source, dir, { recursive: true });
  const killed = await runUntilSave(path.join(dir, 'model.json'), forget, 'SIGKILL');
  assert.equal(killed.killedBy, 'SIGKILL');
  const leftovers = fs.readdirSync(`${dir}.versions`);
  assert.equal(leftovers.length, 1, 'a kill during the save leaves its temporary folder');
  assert.match(leftovers[0], /^\..+\.tmp-\d+-[0-9a-f]{8}$/);
  // The next run (here one with nothing to forget, which saves nothing) removes it.
  const next = await runCase(corpus.cli, {
    name: 'next run',
    group: 'writes',
    args: ['--model', path.join(dir, 'model.json'), '--max-epochs', '1', path.join(corpus.dir, 'data', 'train', 'a', '0.png')],
    code: 0,
    names: ['Nothing to forget'],
  });
  assert.equal(judge({ name: 'next run', group: 'writes', args: [], code: 0, names: ['Nothing to forget'] }, next), undefined, next.output);
  assert.deepEqual(fs.readdirSync(`${dir}.versions`), [], 'no leftovers, no version');
});

test('saveModelAtomically: a cancel before the rename leaves nothing, and stale temporary folders of dead processes go', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-save-'));
  const model = tinyModel(3);
  const artifacts = await captureArtifacts(model);
  model.dispose();
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(saveModelAtomically(artifacts, path.join(dir, 'v1'), { 'run.json': '{}' }, { signal: aborted.signal }), CancelledError);
  assert.deepEqual(fs.readdirSync(dir), []);
  // Cancelled while the save waits just before its rename (the test hook): the written folder is removed.
  process.env.UNLEARN_LENS_TEST_SAVE_PAUSE_MS = '5000';
  try {
    const late = new AbortController();
    const saving = saveModelAtomically(artifacts, path.join(dir, 'v2'), { 'run.json': '{}' }, { signal: late.signal });
    setTimeout(() => late.abort(), 100);
    await assert.rejects(saving, CancelledError);
  } finally {
    delete process.env.UNLEARN_LENS_TEST_SAVE_PAUSE_MS;
  }
  assert.deepEqual(fs.readdirSync(dir), []);
  const saved = await saveModelAtomically(artifacts, path.join(dir, 'v3'), { 'run.json': '{}' });
  assert.deepEqual(fs.readdirSync(path.dirname(saved)).sort(), ['model.json', 'run.json', 'weights.bin']);
  // Leftovers: a dead process's (removed), an old-style name (removed), this process's own and other folders (kept).
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  for (const name of [`.v4.tmp-${dead}-0123abcd`, '.v5.tmp-89abcdef', `.v6.tmp-${process.pid}-00000000`, '.hidden', 'v7.tmp-1-00000000'])
    fs.mkdirSync(path.join(dir, name));
  assert.deepEqual((await removeStaleTemporaryFolders(dir)).sort(), [`.v4.tmp-${dead}-0123abcd`, '.v5.tmp-89abcdef'].sort());
  assert.deepEqual(fs.readdirSync(dir).sort(), [`.v6.tmp-${process.pid}-00000000`, '.hidden', 'v3', 'v7.tmp-1-00000000'].sort());
});

test('--lines: any list of ranges inside the manifest gives exactly its lines, sorted, once', () => {
  const range = (n: number) => fc.tuple(fc.integer({ min: 1, max: n }), fc.integer({ min: 0, max: 5 })).map(([a, len]) => [a, Math.min(n, a + len)] as const);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }).chain((n) => fc.tuple(fc.constant(n), fc.array(range(n), { minLength: 1, maxLength: 8 }))),
      ([n, ranges]) => {
        const text = ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
        const expected = [...new Set(ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i - 1)))].sort((x, y) => x - y);
        assert.deepEqual(parseLines(text, n, 'm.csv'), expected);
      },
    ),
  );
});

test('--lines: past the end, however far, is a clear error naming the real line count, at once', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.boolean(), (n, beyond, asRange) => {
      const to = BigInt(n) + beyond;
      const text = asRange ? `1-${to}` : `${to}`;
      const start = Date.now();
      assert.throws(
        () => parseLines(text, n, 'm.csv'),
        (e: unknown) => e instanceof UserInputError && e.message.includes(`which has ${n} line${n === 1 ? '' : 's'}`) && e.message.includes('m.csv'),
      );
      assert.ok(Date.now() - start < 100, 'no expansion of the range');
    }),
  );
  assert.throws(() => parseLines(`1-${MAX_SELECTED_LINES + 1}`), /at most 1000000 lines/);
});

test('--lines: any text either parses to valid lines or is refused with a UserInputError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 1, max: 100 }), (text, n) => {
      try {
        const lines = parseLines(text, n, 'm.csv');
        assert.ok(lines.length > 0 && lines.every((l, i) => Number.isInteger(l) && l >= 0 && l < n && (i === 0 || l > lines[i - 1])));
      } catch (e) {
        assert.ok(e instanceof UserInputError, String(e));
      }
    }),
  );
});

test('manifest parsing: any text parses without throwing, each line once, rows as written', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('path,label', 'a.png,Shirt', '"x,y.png",1,test', '# c', '', '{"path":"a.png","label":2}', '../../etc/passwd,1'),
        ),
        { maxLength: 20 },
      ),
      fc.boolean(),
      (lines, jsonl) => {
        const text = lines.join('\n');
        const m = parseManifest(text, jsonl ? '/d/m.jsonl' : '/d/m.csv');
        assert.equal(m.lineCount, text.split(/\r?\n/).length);
        const seen = [...m.rows.map((r) => r.line), ...m.problems.map((p) => p.line)];
        assert.equal(new Set(seen).size, seen.length, 'a line is a row or a problem, once');
        for (const r of m.rows) {
          assert.ok(r.line < m.lineCount && r.path !== '' && r.label !== '');
          assert.equal(r.file, path.resolve('/d', r.path));
        }
      },
    ),
  );
});

test('image headers: declared sizes are read without decoding', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (w, h) => {
      assert.deepEqual(imageHeaderSize(pngHeaderOnly(w, h)), { width: w, height: h });
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (w, h) => {
      assert.deepEqual(imageHeaderSize(jpegHeaderOnly(w, h)), { width: w, height: h });
    }),
  );
  assert.equal(imageHeaderSize(Buffer.from('not an image')), undefined);
});
