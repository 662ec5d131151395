import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { loadImageFolder, loadSelectedImages, readImage } from '../../src/engine/data/imageFolder';
import { checkManifest, describeLines, loadManifest, manifestClassNames, parseManifest, readManifest } from '../../src/engine/data/manifest';
import { UserInputError } from '../../src/contracts/errors';

function pngBytes(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const at = (y * width + x) * 4;
      png.data[at] = r;
      png.data[at + 1] = g;
      png.data[at + 2] = b;
      png.data[at + 3] = 255;
    }
  return PNG.sync.write(png);
}

function tempDataset(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-images-'));
  for (const [cls, value] of [
    ['Coat', 40],
    ['Shirt', 200],
  ] as const) {
    fs.mkdirSync(path.join(root, cls));
    for (let i = 0; i < 2; i++)
      fs.writeFileSync(
        path.join(root, cls, `${i}.png`),
        pngBytes(4, 4, () => [value + i, value + i, value + i]),
      );
  }
  return root;
}

const gray4: [number, number, number] = [4, 4, 1];

test('a class-folder dataset loads with labels from folder names and values in [0,1]', async () => {
  const root = tempDataset();
  const data = await loadImageFolder(root, { imageShape: gray4 });
  assert.deepEqual(data.classNames, ['Coat', 'Shirt']);
  assert.deepEqual(Array.from(data.labels), [0, 0, 1, 1]);
  assert.equal(data.images.length, 4 * 16);
  assert.ok(Math.abs(data.images[0] - 40 / 255) < 1e-6);
  assert.ok(Math.abs(data.images[3 * 16] - 201 / 255) < 1e-6);
});

test('classes.json fixes the class order', async () => {
  const root = tempDataset();
  fs.writeFileSync(path.join(root, 'classes.json'), JSON.stringify(['Shirt', 'Coat']));
  const data = await loadImageFolder(root, { imageShape: gray4 });
  assert.deepEqual(data.classNames, ['Shirt', 'Coat']);
  assert.deepEqual(Array.from(data.labels), [0, 0, 1, 1]);
  assert.equal(path.basename(path.dirname(data.files[0])), 'Shirt');
});

test('selected files and folders are labelled by their class folder', async () => {
  const root = tempDataset();
  const data = await loadSelectedImages([path.join(root, 'Shirt', '1.png'), path.join(root, 'Coat')], { imageShape: gray4 });
  assert.deepEqual(Array.from(data.labels), [1, 0, 0]);
  assert.deepEqual(
    data.files.map((f) => path.relative(root, f)),
    [path.join('Shirt', '1.png'), path.join('Coat', '0.png'), path.join('Coat', '1.png')],
  );
});

test('RGB images become grayscale by luma, and grayscale becomes RGB by repetition', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-rgb-'));
  const red = path.join(dir, 'red.png');
  fs.writeFileSync(
    red,
    pngBytes(2, 2, () => [255, 0, 0]),
  );
  const g = await readImage(red, { imageShape: [2, 2, 1] });
  assert.ok(Math.abs(g[0] - 0.299) < 1e-6);
  const rgb = await readImage(red, { imageShape: [2, 2, 3] });
  assert.deepEqual(Array.from(rgb.slice(0, 3)), [1, 0, 0]);
});

test('JPEG decodes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-jpg-'));
  const file = path.join(dir, 'a.jpg');
  const data = Buffer.alloc(8 * 8 * 4, 128);
  fs.writeFileSync(file, jpeg.encode({ width: 8, height: 8, data }, 95).data);
  const pixels = await readImage(file, { imageShape: [8, 8, 1] });
  assert.ok(Math.abs(pixels[10] - 128 / 255) < 0.03);
});

test('a size mismatch names the file and the fix; resize options fit it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-size-'));
  const file = path.join(dir, 'big.png');
  fs.writeFileSync(
    file,
    pngBytes(8, 8, (x) => [x < 4 ? 0 : 255, 0, 0]),
  );
  await assert.rejects(
    readImage(file, { imageShape: [4, 4, 3] }),
    (e: unknown) => e instanceof UserInputError && e.file === file && /8×8.*4×4/.test(e.message) && /resize/i.test(e.message),
  );
  const nearest = await readImage(file, { imageShape: [4, 4, 3], resize: 'nearest' });
  assert.equal(nearest[0], 0);
  assert.equal(nearest[3 * 3], 1);
  const bilinear = await readImage(file, { imageShape: [2, 2, 3], resize: 'bilinear' });
  assert.equal(bilinear[0], 0);
  assert.equal(bilinear[3], 1);
});

test('a non-image and a missing file give UserInputErrors naming the file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-bad-'));
  const text = path.join(dir, 'notes.png');
  fs.writeFileSync(text, 'hello');
  await assert.rejects(
    readImage(text, { imageShape: gray4 }),
    (e: unknown) => e instanceof UserInputError && e.file === text && /not a PNG or JPEG/.test(e.message),
  );
  const missing = path.join(dir, 'gone.png');
  await assert.rejects(
    readImage(missing, { imageShape: gray4 }),
    (e: unknown) => e instanceof UserInputError && e.file === missing && /does not exist/.test(e.message),
  );
});

test('CSV manifests: header, quotes, names or indices, lines kept', () => {
  const m = parseManifest('path,label,split\nCoat/0.png,Coat,train\n\n"Shirt/a,b.png",1\n', '/data/m.csv');
  assert.deepEqual(m.problems, []);
  assert.deepEqual(
    m.rows.map((r) => [r.line, r.path, r.label, r.split]),
    [
      [1, 'Coat/0.png', 'Coat', 'train'],
      [3, 'Shirt/a,b.png', '1', undefined],
    ],
  );
  assert.equal(m.rows[0].file, path.resolve('/data/Coat/0.png'));
});

test('JSONL manifests, and a broken line is a problem at its line', () => {
  const m = parseManifest('{"path":"a.png","label":2}\nnot json\n{"label":1}\n', '/d/m.jsonl');
  assert.equal(m.rows.length, 1);
  assert.deepEqual(
    m.problems.map((p) => [p.line, p.kind]),
    [
      [1, 'syntax'],
      [2, 'syntax'],
    ],
  );
});

test('a manifest loads the selected lines; unknown labels and missing files are named with their line', async () => {
  const root = tempDataset();
  const file = path.join(root, 'train.csv');
  fs.writeFileSync(file, 'path,label\nCoat/0.png,Coat\nShirt/1.png,1\nShirt/9.png,Shirt\nCoat/1.png,Jacket\n');
  fs.writeFileSync(path.join(root, 'classes.json'), JSON.stringify(['Coat', 'Shirt']));
  const loaded = await loadManifest(file, { imageShape: gray4 }, [1, 2]);
  assert.deepEqual(Array.from(loaded.labels), [0, 1]);
  assert.deepEqual(loaded.lines, [1, 2]);
  await assert.rejects(
    loadManifest(file, { imageShape: gray4 }, [3]),
    (e: unknown) => e instanceof UserInputError && /Line 4/.test(e.message) && /does not exist/.test(e.message),
  );
  await assert.rejects(
    loadManifest(file, { imageShape: gray4 }, [4]),
    (e: unknown) => e instanceof UserInputError && e.file === file && /Line 5.*unknown label "Jacket"/.test(e.message),
  );
  const manifest = await readManifest(file);
  const problems = await checkManifest(manifest, await manifestClassNames(manifest), { imageShape: gray4 });
  assert.deepEqual(
    problems.map((p) => [p.line, p.kind]),
    [
      [3, 'missing-file'],
      [4, 'unknown-label'],
    ],
  );
});

test('selected lines that are not instances are named: past the end of the file, or only a header', async () => {
  const root = tempDataset();
  const file = path.join(root, 'train.csv');
  fs.writeFileSync(file, 'path,label\nCoat/0.png,Coat\n\nShirt/1.png,Shirt\n');
  assert.equal((await readManifest(file)).lineCount, 5, 'as an editor numbers them: the empty line after the final newline is line 5');
  const past = (e: unknown) =>
    e instanceof UserInputError &&
    e.file === file &&
    e.message === `Lines 7, 9–11 are past the end of ${file}, which has 5 lines. Name lines that hold an image and its label.`;
  await assert.rejects(
    loadManifest(file, { imageShape: gray4 }, [1, 4, 6, 8, 9, 10]),
    past,
    'even with a good line among them: nothing is forgotten silently short',
  );
  assert.deepEqual((await loadManifest(file, { imageShape: gray4 }, [3, 4])).lines, [3], 'the cursor on the last, empty line is not past the end');
  await assert.rejects(
    loadManifest(file, { imageShape: gray4 }, [0, 2]),
    (e: unknown) =>
      e instanceof UserInputError &&
      /None of the selected lines \(1, 3\) of .*train\.csv names an instance: a header, a blank line or a comment is not one\./.test(e.message),
  );
  const loaded = await loadManifest(file, { imageShape: gray4 }, [0, 1, 2]);
  assert.deepEqual(loaded.lines, [1], 'a selection that takes in the header and a blank line keeps its instances');
  assert.equal(describeLines([8, 1, 4, 9, 10, 11, 4]), '2, 5, 9–12');
});

test('a class name with a slash lives in a folder with _ instead', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-slash-'));
  fs.writeFileSync(path.join(root, 'classes.json'), JSON.stringify(['T-shirt/top', 'Coat']));
  fs.mkdirSync(path.join(root, 'T-shirt_top'));
  fs.writeFileSync(
    path.join(root, 'T-shirt_top', 'a.png'),
    pngBytes(4, 4, () => [9, 9, 9]),
  );
  const all = await loadImageFolder(root, { imageShape: gray4 });
  assert.deepEqual(Array.from(all.labels), [0]);
  const picked = await loadSelectedImages([path.join(root, 'T-shirt_top', 'a.png')], { imageShape: gray4 });
  assert.deepEqual(Array.from(picked.labels), [0]);
});
