import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listDataset } from '../../src/engine/data/gallery';
import { UserInputError } from '../../src/contracts/errors';
import { writePng } from './helpers';

test('the gallery lists a class-folder dataset by class (classes.json order), images only, hidden folders skipped', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-gallery-'));
  for (const [cls, names] of Object.entries({ cat: ['b.png', 'a.jpg'], 'T-shirt_top': ['x.png'], dog: [] as string[] })) {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (const n of names) writePng(path.join(root, cls, n), 0.5);
  }
  fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not an image');
  fs.mkdirSync(path.join(root, 'cat', '.thumbs'));
  writePng(path.join(root, 'cat', '.thumbs', 'hidden.png'), 0.5);
  fs.writeFileSync(path.join(root, 'classes.json'), JSON.stringify(['T-shirt/top', 'dog', 'cat', 'bird']));
  const listing = await listDataset(root);
  assert.equal(listing.kind, 'folders');
  assert.deepEqual(listing.classNames, ['T-shirt/top', 'dog', 'cat', 'bird']);
  assert.deepEqual(
    listing.items.map((i) => [path.relative(root, i.file), i.label]),
    [
      [path.join('T-shirt_top', 'x.png'), 0],
      [path.join('cat', 'a.jpg'), 2],
      [path.join('cat', 'b.png'), 2],
    ],
  );
  assert.equal(listing.skipped, 0);
});

test('the gallery lists a manifest without its held-out rows and unknown labels, and says how many it left out', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-gallery-m-'));
  fs.writeFileSync(path.join(dir, 'classes.json'), JSON.stringify(['zero', 'one']));
  const manifest = path.join(dir, 'train.csv');
  fs.writeFileSync(manifest, 'path,label,split\nimg/a.png,one,train\nimg/b.png,zero,\nimg/c.png,zero,test\nimg/d.png,seven,train\nimg/e.png,1,train\n');
  const listing = await listDataset(manifest);
  assert.equal(listing.kind, 'manifest');
  assert.deepEqual(
    listing.items.map((i) => [path.basename(i.file), i.label, i.line]),
    [
      ['b.png', 0, 2],
      ['a.png', 1, 1],
      ['e.png', 1, 5],
    ],
  );
  assert.equal(listing.skipped, 2);
});

test('the gallery names the file and the fix for a dataset that is missing or not a dataset', async () => {
  const missing = path.join(os.tmpdir(), 'unlearn-gallery-none', 'data');
  await assert.rejects(listDataset(missing), (e: unknown) => e instanceof UserInputError && e.message.includes(missing) && /Select Dataset/.test(e.message));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-gallery-bad-'));
  const notes = path.join(dir, 'notes.txt');
  fs.writeFileSync(notes, 'hello');
  await assert.rejects(listDataset(notes), (e: unknown) => e instanceof UserInputError && e.message.includes(notes) && /manifest/.test(e.message));
  await assert.rejects(listDataset(dir), (e: unknown) => e instanceof UserInputError && /no class sub-folders/.test(e.message));
});
