/**
 * Model files and IDX data: round trips, and a clear error (naming the file) for each broken input.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { captureArtifacts, loadModel, saveModelAtomically } from '../../src/engine/data/modelIo';
import { loadIdxDataset } from '../../src/engine/data/idx';
import { UserInputError } from '../../src/contracts/errors';
import { tinyModel, useBackend } from './helpers';

before(useBackend);

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'unlearn-lens-test-'));
}

async function savedTinyModel(): Promise<{ dir: string; modelJson: string }> {
  const dir = await tempDir();
  const m = tinyModel();
  const modelJson = await saveModelAtomically(await captureArtifacts(m), path.join(dir, 'model'));
  m.dispose();
  return { dir, modelJson };
}

const rejectsNaming = (p: Promise<unknown>, file: string, pattern: RegExp) =>
  assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UserInputError, `expected a UserInputError, got ${e}`);
    assert.ok(e.message.includes(file), `message does not name ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });

test('a saved model loads back with identical weights and a stable hash', async () => {
  const { modelJson } = await savedTinyModel();
  const a = await loadModel(modelJson);
  const b = await loadModel(modelJson);
  assert.equal(a.sha256, b.sha256);
  const original = tinyModel();
  a.model.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), original.getWeights()[i].dataSync()));
});

test('saving never writes over an existing folder and leaves no temporary files', async () => {
  const { dir, modelJson } = await savedTinyModel();
  const before = await fs.readFile(modelJson);
  const loaded = await loadModel(modelJson);
  await assert.rejects(saveModelAtomically(loaded.artifacts, path.dirname(modelJson)), /already exists/);
  assert.deepEqual(await fs.readFile(modelJson), before);
  assert.deepEqual((await fs.readdir(dir)).sort(), ['model']);
});

test('broken models get errors that name the file and the fix', async () => {
  const { dir, modelJson } = await savedTinyModel();
  await rejectsNaming(loadModel(path.join(dir, 'missing.json')), 'missing.json', /Select a TensorFlow.js model.json/);
  const broken = path.join(dir, 'broken.json');
  await fs.writeFile(broken, '{"modelTopology": ');
  await rejectsNaming(loadModel(broken), broken, /not valid JSON/);
  const graph = path.join(dir, 'graph.json');
  await fs.writeFile(graph, JSON.stringify({ format: 'graph-model', weightsManifest: [] }));
  await rejectsNaming(loadModel(graph), graph, /not a TensorFlow.js Layers model/);
  const weights = path.join(path.dirname(modelJson), 'weights.bin');
  const full = await fs.readFile(weights);
  await fs.writeFile(weights, full.subarray(0, full.length - 8));
  await rejectsNaming(loadModel(modelJson), modelJson, /truncated/);
  await fs.rm(weights);
  await rejectsNaming(loadModel(modelJson), 'weights.bin', /Keep model.json and its .bin files together/);
});

function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(body)]);
}

test('IDX files load gzipped or raw, scaled to [0, 1]', async () => {
  const dir = await tempDir();
  const pixels = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => (i * 15) % 256);
  await fs.writeFile(path.join(dir, 'img.gz'), zlib.gzipSync(idx(0x803, [2, 3, 3], pixels)));
  await fs.writeFile(path.join(dir, 'lab'), idx(0x801, [2], Uint8Array.from([1, 0])));
  const d = await loadIdxDataset(path.join(dir, 'img.gz'), path.join(dir, 'lab'), undefined, 'tiny');
  assert.deepEqual(d.imageShape, [3, 3, 1]);
  assert.deepEqual(Array.from(d.labels), [1, 0]);
  assert.equal(d.images[1], Math.fround(15 / 255));
  assert.deepEqual(d.classNames, ['0', '1']);
});

test('broken IDX files get errors that name the file', async () => {
  const dir = await tempDir();
  const images = path.join(dir, 'images');
  const labels = path.join(dir, 'labels');
  await fs.writeFile(images, idx(0x803, [2, 3, 3], new Uint8Array(18)));
  await fs.writeFile(labels, idx(0x801, [3], new Uint8Array(3)));
  await rejectsNaming(loadIdxDataset(images, labels, undefined, 'x'), labels, /same split/);
  await rejectsNaming(loadIdxDataset(labels, labels, undefined, 'x'), labels, /not an IDX image file/);
  await fs.writeFile(images, idx(0x803, [2, 3, 3], new Uint8Array(10)));
  await rejectsNaming(loadIdxDataset(images, labels, undefined, 'x'), images, /truncated or corrupt/);
  await fs.writeFile(images, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  await rejectsNaming(loadIdxDataset(images, labels, undefined, 'x'), images, /does not decompress/);
});
