/**
 * MNIST-style IDX files (images: magic 0x00000803, labels: 0x00000801), gzipped or raw.
 */
import * as fs from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { UserInputError } from '../../contracts/errors';
import type { Dataset } from './dataset';

async function readMaybeGzipped(file: string): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await fs.readFile(file);
  } catch (e) {
    throw new UserInputError(`Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}. Check the path, or choose another dataset.`, file);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch {
      throw new UserInputError(`${file} looks gzipped but does not decompress; the download is probably truncated. Fetch it again.`, file);
    }
  }
  return raw;
}

function header(buf: Buffer, file: string, expectedMagic: number, dims: number): number[] {
  if (buf.length < 4) throw new UserInputError(`${file} is too short to be an IDX file.`, file);
  const magic = buf.readUInt32BE(0);
  if (magic !== expectedMagic) {
    throw new UserInputError(
      `${file} is not an IDX ${dims === 1 ? 'label' : 'image'} file (magic 0x${magic.toString(16).padStart(8, '0')}, expected ` +
        `0x${expectedMagic.toString(16).padStart(8, '0')}). ` +
        `Pass the *-images-idx3-ubyte and *-labels-idx1-ubyte files in the right places.`,
      file,
    );
  }
  if (buf.length < 4 + 4 * dims) throw new UserInputError(`${file} is too short to be an IDX file.`, file);
  const shape = Array.from({ length: dims }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const expected = 4 + 4 * dims + shape.reduce((a, b) => a * b, 1);
  if (buf.length !== expected) throw new UserInputError(`${file} holds ${buf.length} bytes but its header promises ${expected}; the file is truncated or corrupt.`, file);
  return shape;
}

export async function readIdxImages(file: string): Promise<{ images: Float32Array; shape: [number, number, number] }> {
  const buf = await readMaybeGzipped(file);
  const [count, h, w] = header(buf, file, 0x00000803, 3);
  const images = new Float32Array(count * h * w);
  const offset = 16;
  for (let i = 0; i < images.length; i++) images[i] = buf[offset + i] / 255;
  return { images, shape: [h, w, 1] };
}

export async function readIdxLabels(file: string): Promise<Int32Array> {
  const buf = await readMaybeGzipped(file);
  const [count] = header(buf, file, 0x00000801, 1);
  return Int32Array.from(buf.subarray(8, 8 + count));
}

export async function loadIdxDataset(imagesFile: string, labelsFile: string, classNames: string[] | undefined, name: string): Promise<Dataset> {
  const [{ images, shape }, labels] = await Promise.all([readIdxImages(imagesFile), readIdxLabels(labelsFile)]);
  if (images.length / (shape[0] * shape[1]) !== labels.length) {
    throw new UserInputError(`${imagesFile} has ${images.length / (shape[0] * shape[1])} images but ${labelsFile} has ${labels.length} labels; they must come from the same split.`, labelsFile);
  }
  const numClasses = Math.max(...labels) + 1;
  return { name, imageShape: shape, images, labels, classNames: classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)) };
}
