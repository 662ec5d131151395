import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { perturbation, pngDataUri } from '../../src/shared/pixels';

test('pixels become a PNG data URI that decodes back to the same grey levels (and colours)', () => {
  const grey = [0, 64, 128, 255, 10, 20];
  const uri = pngDataUri(grey, [2, 3, 1]);
  assert.match(uri, /^data:image\/png;base64,/);
  const png = PNG.sync.read(Buffer.from(uri.split(',')[1], 'base64'));
  assert.equal(png.width, 3);
  assert.equal(png.height, 2);
  assert.deepEqual(
    [...png.data].filter((_, i) => i % 4 === 0),
    grey,
  );
  assert.ok(
    [...png.data].filter((_, i) => i % 4 === 3).every((a) => a === 255),
    'opaque',
  );
  const rgb = PNG.sync.read(Buffer.from(pngDataUri([255, 0, 0, 0, 0, 255], [1, 2, 3]).split(',')[1], 'base64'));
  assert.deepEqual([...rgb.data], [255, 0, 0, 255, 0, 0, 255, 255]);
});

test('the perturbation is |a - b| scaled to white at its largest, and black where nothing changed', () => {
  assert.deepEqual(perturbation([10, 20, 30], [10, 25, 20]), [0, 128, 255]);
  assert.deepEqual(perturbation([5, 5], [5, 5]), [0, 0]);
});
