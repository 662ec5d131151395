/**
 * A corpus of bad inputs and faults for `unlearn-lens unlearn`, generated into a temporary folder:
 * --json onto every kind of input, devices, FIFOs, symlinks and ../ rows, image headers that
 * declare huge sizes, damaged images, duplicate and conflicting rows, --lines that would blow up,
 * class orders that disagree, a versions folder that cannot be written, backends that are absent.
 * Each case says what a user should get: the exit code and the file (or fix) the message names.
 * test/engine/bad-inputs.test.ts runs them all; run this file to print the table:
 *
 *   npx tsx tools/bad-inputs.ts     # bundles src/cli/main.ts into the corpus folder and runs each case
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { PNG } from 'pngjs';
import { buildSync } from 'esbuild';
import { initBackend } from '../src/engine/runtime/backend';
import { captureArtifacts, saveModelAtomically } from '../src/engine/data/modelIo';
import { tinyModel, writePng } from '../test/engine/helpers';

export interface BadInputCase {
  name: string;
  group: 'writes' | 'hangs and blow-ups' | 'crashes' | 'containment' | 'duplicates' | 'class order' | 'images';
  /** Arguments after `unlearn` (the common ones are added by `runCase`). */
  args: string[];
  /** 2: refused with a message; 0: handled (merged, or nothing to do). */
  code: number;
  /** What the message (stdout + stderr) must contain: the file at fault, or the fix. */
  names: string[];
}

export interface Corpus {
  dir: string;
  /** The CLI, bundled from src/ into the corpus folder (a second per run instead of tsx's several). */
  cli: string;
  model: string;
  /** Every file the cases read: none may change. */
  inputs: string[];
  cases: BadInputCase[];
}

/** A PNG signature and an IHDR chunk declaring `width`×`height`, and nothing else (no pixels). */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'ascii');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr[16] = 8; // bit depth
  ihdr[17] = 6; // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr]);
}

/** A JPEG start and a baseline frame header declaring `width`×`height` (no scan). */
export function jpegHeaderOnly(width: number, height: number): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, 0, 0, 0, 0, 0x01, 0x01, 0x11, 0x00]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof]);
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** sha256 of each input that is a regular file (FIFOs and devices are left alone). */
export function hashInputs(files: string[]): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const f of files) if (fs.statSync(f).isFile()) hashes.set(f, sha256(f));
  return hashes;
}

/** Builds the corpus under a new temporary folder. Needs a TensorFlow.js backend (to write the tiny model). */
export async function makeCorpus(prefix = 'unlearn-bad-'): Promise<Corpus> {
  await initBackend({ choice: 'cpu' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const at = (...p: string[]) => path.join(dir, ...p);
  // The tiny model predicts class b for every image here.
  const artifacts = await captureArtifacts(tinyModel(1, [8, 8, 1], 3, 2));
  const model = await saveModelAtomically(artifacts, at('models', 'tiny'));
  const blocked = await saveModelAtomically(artifacts, at('models', 'blocked'));
  fs.writeFileSync(at('models', 'blocked.versions'), 'a file where the versions folder should be\n');
  const images: string[] = [];
  for (const [label, cls] of ['a', 'b', 'c'].entries()) {
    for (let i = 0; i < 2; i++) {
      writePng(at('data', 'train', cls, `${i}.png`), 40 * label + 60 * i);
      images.push(at('data', 'train', cls, `${i}.png`));
    }
    writePng(at('data', 'test', cls, '0.png'), 40 * label + 30);
    images.push(at('data', 'test', cls, '0.png'));
  }
  // Odd files inside the class folder a.
  const odd = (name: string, bytes: Buffer | string) => {
    fs.writeFileSync(at('data', 'train', 'a', name), bytes);
    images.push(at('data', 'train', 'a', name));
    return at('data', 'train', 'a', name);
  };
  const hugePng = odd('huge.png', pngHeaderOnly(30000, 30000));
  const hugeJpg = odd('huge.jpg', jpegHeaderOnly(60000, 60000));
  const good = fs.readFileSync(at('data', 'train', 'b', '0.png'));
  const truncated = odd('truncated.png', good.subarray(0, 40));
  const empty = odd('empty.png', Buffer.alloc(0));
  const text = odd('text.png', 'not an image\n');
  const wide = new PNG({ width: 16, height: 8 });
  wide.data.fill(255);
  const wrongSize = odd('wide.png', PNG.sync.write(wide));
  fs.mkdirSync(at('data', 'train', 'a', 'folder.png'));
  const fifo = at('data', 'train', 'a', 'fifo.png');
  execFileSync('mkfifo', [fifo]);
  // Outside the dataset: an image, a symlink to it from inside, and a symlink to a device.
  writePng(at('outside', 'secret.png'), 200);
  images.push(at('outside', 'secret.png'));
  const linkOut = at('data', 'train', 'a', 'link-out.png');
  fs.symlinkSync(at('outside', 'secret.png'), linkOut);
  const linkZero = at('data', 'train', 'a', 'zero.png');
  fs.symlinkSync('/dev/zero', linkZero);
  // The same image under two class folders (a symlink): two labels for one image.
  const twoLabels = at('data', 'train', 'c', 'also-b.png');
  fs.symlinkSync(at('data', 'train', 'b', '0.png'), twoLabels);

  const manifest = at('data', 'train.csv');
  const rows = [
    'path,label', // 1
    'train/a/0.png,a', // 2
    'train/b/0.png,b', // 3
    'train/b/1.png,b', // 4
    '/dev/zero,a', // 5
    'train/a/fifo.png,a', // 6
    '../outside/secret.png,a', // 7
    `${at('outside', 'secret.png')},a`, // 8
    'train/a/link-out.png,a', // 9
    'train/b/0.png,b', // 10: line 3 again
    'train/b/0.png,c', // 11: line 3 with another label
    'train/a/huge.png,a', // 12
    '/dev/urandom,a', // 13
    'train/a/folder.png,a', // 14
    'train/c/also-b.png,c', // 15: line 3's image (through a symlink), another label
  ];
  fs.writeFileSync(manifest, rows.join('\n') + '\n');
  const lines = rows.length + 1; // as an editor numbers them, after the final newline
  const bom = at('data', 'bom.csv');
  fs.writeFileSync(bom, '\uFEFFpath,label\ntrain/a/1.png,a\ntrain/b/1.png,b\ntrain/c/1.png,c\n');
  const fifoManifest = at('data', 'fifo.csv');
  execFileSync('mkfifo', [fifoManifest]);

  // A dataset whose train folder fixes the class order in classes.json and whose test folder does not.
  for (const split of ['train', 'test']) for (const cls of ['a', 'b', 'c']) writePng(at('ordered', split, cls, '0.png'), cls === 'b' ? 90 : 20);
  fs.writeFileSync(at('ordered', 'train', 'classes.json'), JSON.stringify(['c', 'b', 'a']));
  writePng(at('broken-classes', 'train', 'b', '0.png'), 90);
  fs.writeFileSync(at('broken-classes', 'train', 'classes.json'), '["a", "b",');
  const notes = at('notes.txt');
  fs.writeFileSync(notes, 'my notes: never to be overwritten\n');
  fs.symlinkSync(model, at('record-link.json'));

  const inputs = [
    model,
    path.join(path.dirname(model), 'weights.bin'),
    blocked,
    path.join(path.dirname(blocked), 'weights.bin'),
    at('models', 'blocked.versions'),
    manifest,
    bom,
    notes,
    ...images,
    at('ordered', 'train', 'classes.json'),
    at('broken-classes', 'train', 'classes.json'),
  ];
  const b0 = at('data', 'train', 'b', '0.png');
  const a0 = at('data', 'train', 'a', '0.png');
  const m = (lineList: string) => ['--model', model, '--manifest', manifest, '--lines', lineList];
  const cases: BadInputCase[] = [
    // --json never destroys, and is checked before the run.
    { name: '--json onto model.json', group: 'writes', args: ['--model', model, b0, '--json', model], code: 2, names: [model, 'the model'] },
    {
      name: '--json onto the weight shard',
      group: 'writes',
      args: ['--model', model, b0, '--json', path.join(path.dirname(model), 'weights.bin')],
      code: 2,
      names: ['weights.bin'],
    },
    { name: '--json onto the image being forgotten', group: 'writes', args: ['--model', model, b0, '--json', b0], code: 2, names: [b0] },
    { name: '--json onto the manifest', group: 'writes', args: [...m('3'), '--json', manifest], code: 2, names: [manifest] },
    { name: '--json onto an image the manifest line names', group: 'writes', args: [...m('3'), '--json', b0], code: 2, names: [b0] },
    {
      name: '--json: a new file inside the dataset folder',
      group: 'writes',
      args: ['--model', model, b0, '--json', at('data', 'train', 'b', 'record.json')],
      code: 2,
      names: ['record.json', 'dataset folder'],
    },
    {
      name: '--json: a new file inside the model folder',
      group: 'writes',
      args: ['--model', model, b0, '--json', at('models', 'tiny', 'record.json')],
      code: 2,
      names: ['record.json', 'model folder'],
    },
    {
      name: '--json: a new file inside the versions folder',
      group: 'writes',
      args: ['--model', model, b0, '--json', at('models', 'tiny.versions', 'record.json')],
      code: 2,
      names: ['record.json', 'versions folder'],
    },
    {
      name: '--json through a symlink to model.json',
      group: 'writes',
      args: ['--model', model, b0, '--json', at('record-link.json')],
      code: 2,
      names: ['record-link.json'],
    },
    { name: '--json onto a folder', group: 'writes', args: ['--model', model, b0, '--json', at('outside')], code: 2, names: [at('outside'), 'folder'] },
    {
      name: '--json into a missing folder',
      group: 'writes',
      args: ['--model', model, b0, '--json', at('nope', 'record.json')],
      code: 2,
      names: [at('nope'), 'does not exist'],
    },
    {
      name: '--json onto an existing file that is not a run record',
      group: 'writes',
      args: ['--model', model, b0, '--json', notes],
      code: 2,
      names: [notes, 'not an Unlearn Lens run record'],
    },
    { name: '--json onto a device', group: 'writes', args: ['--model', model, b0, '--json', '/dev/zero'], code: 2, names: ['/dev/zero'] },
    { name: 'versions folder blocked by a file', group: 'writes', args: ['--model', blocked, b0], code: 2, names: [`${path.dirname(blocked)}.versions`] },
    // Hangs and blow-ups.
    { name: '--lines 9007199254740993', group: 'hangs and blow-ups', args: m('9007199254740993'), code: 2, names: [manifest, `${lines} lines`] },
    { name: '--lines 2-1000000000', group: 'hangs and blow-ups', args: m('2-1000000000'), code: 2, names: [manifest, `${lines} lines`] },
    { name: '--lines 99999999999999999999999999', group: 'hangs and blow-ups', args: m('99999999999999999999999999'), code: 2, names: [manifest] },
    { name: '--lines 0', group: 'hangs and blow-ups', args: m('0'), code: 2, names: ['--lines'] },
    { name: '--lines 4-2', group: 'hangs and blow-ups', args: m('4-2'), code: 2, names: ['--lines', '4-2'] },
    { name: '--lines x3', group: 'hangs and blow-ups', args: m('x3'), code: 2, names: ['--lines'] },
    { name: 'manifest row /dev/zero', group: 'hangs and blow-ups', args: m('5'), code: 2, names: ['/dev/zero', 'Line 5'] },
    { name: 'manifest row /dev/urandom', group: 'hangs and blow-ups', args: [...m('13'), '--allow-outside'], code: 2, names: ['/dev/urandom', 'regular file'] },
    { name: 'manifest row: a FIFO', group: 'hangs and blow-ups', args: m('6'), code: 2, names: [fifo, 'regular file'] },
    { name: 'image: a FIFO', group: 'hangs and blow-ups', args: ['--model', model, fifo], code: 2, names: [fifo] },
    { name: 'image: a symlink to /dev/zero', group: 'hangs and blow-ups', args: ['--model', model, linkZero, '--allow-outside'], code: 2, names: [linkZero] },
    {
      name: 'manifest: a FIFO',
      group: 'hangs and blow-ups',
      args: ['--model', model, '--manifest', fifoManifest, '--lines', '2'],
      code: 2,
      names: [fifoManifest, 'regular file'],
    },
    { name: 'PNG declaring 30000×30000', group: 'hangs and blow-ups', args: ['--model', model, hugePng], code: 2, names: [hugePng, '30000×30000'] },
    {
      name: 'PNG declaring 30000×30000, --resize bilinear',
      group: 'hangs and blow-ups',
      args: ['--model', model, '--resize', 'bilinear', hugePng],
      code: 2,
      names: [hugePng, '30000×30000'],
    },
    {
      name: 'JPEG declaring 60000×60000',
      group: 'hangs and blow-ups',
      args: ['--model', model, '--resize', 'nearest', hugeJpg],
      code: 2,
      names: [hugeJpg, '60000×60000'],
    },
    { name: 'manifest row: PNG declaring 30000×30000', group: 'hangs and blow-ups', args: m('12'), code: 2, names: [hugePng, 'Line 12'] },
    // Damaged and odd images.
    { name: 'truncated PNG', group: 'images', args: ['--model', model, truncated], code: 2, names: [truncated] },
    { name: 'empty .png', group: 'images', args: ['--model', model, empty], code: 2, names: [empty] },
    { name: 'text named .png', group: 'images', args: ['--model', model, text], code: 2, names: [text] },
    { name: 'PNG of the wrong size', group: 'images', args: ['--model', model, wrongSize], code: 2, names: [wrongSize, 'resize'] },
    { name: 'manifest row: a folder named .png', group: 'images', args: m('14'), code: 2, names: ['folder.png', 'folder'] },
    // Crashes that must be messages.
    { name: '--dataset pointing nowhere', group: 'crashes', args: ['--model', model, '--dataset', at('nowhere'), b0], code: 2, names: [at('nowhere')] },
    { name: '--dataset pointing at a file', group: 'crashes', args: ['--model', model, '--dataset', b0, b0], code: 2, names: [b0] },
    { name: '--test pointing nowhere', group: 'crashes', args: ['--model', model, '--test', at('nowhere'), b0], code: 2, names: [at('nowhere')] },
    {
      name: '--backend tfjs-node (not installed)',
      group: 'crashes',
      args: ['--model', model, '--backend', 'tfjs-node', b0],
      code: 2,
      names: ['tfjs-node', 'wasm'],
    },
    {
      name: '--backend tfjs-node-gpu (not installed)',
      group: 'crashes',
      args: ['--model', model, '--backend', 'tfjs-node-gpu', b0],
      code: 2,
      names: ['tfjs-node-gpu', 'wasm'],
    },
    { name: '--model is a folder', group: 'crashes', args: ['--model', path.dirname(model), b0], code: 2, names: [path.dirname(model)] },
    { name: '--model is a FIFO', group: 'crashes', args: ['--model', fifo, b0], code: 2, names: [fifo] },
    { name: 'image path that does not exist', group: 'crashes', args: ['--model', model, at('data', 'train', 'b', 'nope.png')], code: 2, names: ['nope.png'] },
    {
      name: 'classes.json that is not JSON',
      group: 'crashes',
      args: ['--model', model, at('broken-classes', 'train', 'b', '0.png')],
      code: 2,
      names: [at('broken-classes', 'train', 'classes.json')],
    },
    // Containment.
    { name: 'manifest row ../outside', group: 'containment', args: m('7'), code: 2, names: ['Line 7', '--allow-outside'] },
    { name: 'manifest row: absolute path outside', group: 'containment', args: m('8'), code: 2, names: ['Line 8', '--allow-outside'] },
    { name: 'manifest row: symlink leading outside', group: 'containment', args: m('9'), code: 2, names: ['Line 9', '--allow-outside'] },
    { name: 'selected image: symlink leading outside', group: 'containment', args: ['--model', model, linkOut], code: 2, names: [linkOut, '--allow-outside'] },
    {
      name: 'selected image outside --dataset',
      group: 'containment',
      args: ['--model', model, '--dataset', at('data', 'train'), at('outside', 'secret.png')],
      code: 2,
      names: [at('outside', 'secret.png')],
    },
    // Duplicates and conflicts.
    { name: 'manifest: one image with two labels', group: 'duplicates', args: m('3,11'), code: 2, names: [manifest, 'Lines 3 and 11'] },
    { name: 'manifest: one image with two labels through a symlink', group: 'duplicates', args: m('3,15'), code: 2, names: [manifest, 'Lines 3 and 15'] },
    { name: 'one image in two class folders (symlink)', group: 'duplicates', args: ['--model', model, b0, twoLabels], code: 2, names: [twoLabels] },
    // Class order.
    {
      name: 'classes.json in train, not in test, orders differ',
      group: 'class order',
      args: ['--model', model, at('ordered', 'train', 'b', '0.png')],
      code: 2,
      names: [at('ordered', 'test'), 'classes.json'],
    },
    {
      name: 'nothing to forget: the model misclassifies every selected image',
      group: 'class order',
      args: ['--model', model, '--method', 'naive', '--max-epochs', '1', a0],
      code: 0,
      names: ['Nothing to forget', 'classes.json'],
    },
    {
      name: 'duplicates merged: an image, again, and its folder',
      group: 'duplicates',
      args: ['--model', model, '--method', 'naive', '--max-epochs', '1', b0, b0, at('data', 'train', 'b')],
      code: 0,
      names: ['2 duplicates merged', '2 distinct instances', 'new version:'],
    },
    {
      name: 'duplicate manifest rows merged',
      group: 'duplicates',
      args: [...m('3,10'), '--method', 'naive', '--max-epochs', '1'],
      code: 0,
      names: ['1 duplicate merged', '1 distinct instance', 'new version:'],
    },
    {
      name: 'manifest saved with a byte-order mark',
      group: 'images',
      args: ['--model', model, '--manifest', bom, '--lines', '3', '--max-epochs', '1'],
      code: 0,
      names: ['new version:'],
    },
  ];
  return { dir, cli: bundleCli(at('cli')), model, inputs, cases };
}

/** src/cli/main.ts as one CommonJS file in `outDir` (as the build makes dist/cli.js; the cpu backend needs nothing beside it). */
export function bundleCli(outDir: string): string {
  const outfile = path.join(outDir, 'cli.js');
  buildSync({
    entryPoints: [path.join(__dirname, '..', 'src', 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
    logLevel: 'error',
  });
  return outfile;
}

export interface CaseResult {
  code: number | null;
  output: string;
  ms: number;
  timedOut: boolean;
}

/** Runs `unlearn-lens unlearn` (`cli`: the bundle) on one case; kills it after `timeoutMs`. */
export function runCase(cli: string, c: BadInputCase, timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<CaseResult> {
  const args = [
    cli,
    'unlearn',
    ...(c.args.includes('--backend') ? [] : ['--backend', 'cpu']),
    ...(c.args.includes('--method') ? [] : ['--method', 'naive']),
    ...c.args,
  ];
  return new Promise((resolve) => {
    const start = Date.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - start, timedOut });
    });
  });
}

/** Whether a result is what the case asks for: the exit code, and each name in the output. */
export function judge(c: BadInputCase, r: CaseResult): string | undefined {
  if (r.timedOut) return 'hang (killed)';
  if (r.code !== c.code) return `exit ${r.code}, expected ${c.code}`;
  const missing = c.names.filter((n) => !r.output.includes(n));
  if (missing.length) return `message lacks ${missing.map((n) => JSON.stringify(n)).join(', ')}`;
  if (/^\s+at .+:\d+:\d+\)?$/m.test(r.output)) return 'raw stack trace';
  return undefined;
}

async function main(): Promise<void> {
  const corpus = await makeCorpus();
  const before = hashInputs(corpus.inputs);
  console.log(`corpus: ${corpus.dir} (${corpus.cases.length} cases)`);
  const rows: string[] = [];
  for (const c of corpus.cases) {
    const r = await runCase(corpus.cli, c);
    const problem = judge(c, r);
    const firstLine = r.output.split('\n').find((l) => l.trim()) ?? '';
    rows.push(`${problem ? 'FAIL' : 'ok  '} | ${c.group} | ${c.name} | exit ${r.code} | ${(r.ms / 1000).toFixed(1)} s | ${problem ?? firstLine.slice(0, 140)}`);
    console.log(rows[rows.length - 1]);
  }
  const changed = [...before].filter(([f, h]) => sha256(f) !== h).map(([f]) => f);
  console.log(`inputs changed: ${changed.length ? changed.join(', ') : 'none'} (${before.size} hashed)`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
