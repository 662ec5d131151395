/**
 * Image files as training instances: PNG and JPEG decoded by pure-JS decoders (pngjs, jpeg-js),
 * converted to the model's channels and, only when asked, resized to its input size.
 *
 * A folder dataset has one sub-folder per class (`root/<class name>/<image>`); the class order is
 * `root/classes.json` when present (the order the model was trained with), else the sorted
 * sub-folder names.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { UserInputError } from '../../contracts/errors';
import { checkImageHeader, isInsideFolder, MAX_IMAGE_BYTES, MAX_JSON_BYTES, readRegularFile, realPathOrParent } from './inputFiles';
import type { Dataset } from './dataset';
import type { ResizeMode } from '../../contracts/options';

export interface ImageLoadOptions {
  /** [height, width, channels] the model takes; channels 1 (grayscale) or 3 (RGB). */
  imageShape: [number, number, number];
  /** What to do with an image of another size: refuse with an error (default), or resize. */
  resize?: ResizeMode;
  /** Read images outside the dataset folder (manifest rows with ../ or absolute paths, symlinks out); default: refuse them. */
  allowOutside?: boolean;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
export const isImageFile = (file: string): boolean => IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());

/** Decoded pixels, RGBA bytes, as both decoders give them. */
interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

function decodeBytes(bytes: Buffer, file: string): Rgba {
  const isPng = bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (e) {
    throw new UserInputError(`${file} cannot be decoded (${(e as Error).message}); the file is damaged. Replace it or remove it from the selection.`, file);
  }
  throw new UserInputError(`${file} is not a PNG or JPEG image. Only .png and .jpg/.jpeg files can be unlearned; convert it or remove it from the selection.`, file);
}

function sample(img: Rgba, x: number, y: number, channel: number): number {
  return img.data[(y * img.width + x) * 4 + channel];
}

/** One RGBA channel at fractional output position, by the chosen resize rule. */
function resized(img: Rgba, outH: number, outW: number, oy: number, ox: number, channel: number, mode: ResizeMode): number {
  if (img.height === outH && img.width === outW) return sample(img, ox, oy, channel);
  // Pixel centres aligned (half-pixel convention), as most image libraries do.
  const sy = ((oy + 0.5) * img.height) / outH - 0.5;
  const sx = ((ox + 0.5) * img.width) / outW - 0.5;
  if (mode === 'nearest') {
    const y = Math.min(img.height - 1, Math.max(0, Math.round(sy)));
    const x = Math.min(img.width - 1, Math.max(0, Math.round(sx)));
    return sample(img, x, y, channel);
  }
  const y0 = Math.min(img.height - 1, Math.max(0, Math.floor(sy)));
  const x0 = Math.min(img.width - 1, Math.max(0, Math.floor(sx)));
  const y1 = Math.min(img.height - 1, y0 + 1);
  const x1 = Math.min(img.width - 1, x0 + 1);
  const fy = Math.min(1, Math.max(0, sy - y0));
  const fx = Math.min(1, Math.max(0, sx - x0));
  const top = sample(img, x0, y0, channel) * (1 - fx) + sample(img, x1, y0, channel) * fx;
  const bottom = sample(img, x0, y1, channel) * (1 - fx) + sample(img, x1, y1, channel) * fx;
  return top * (1 - fy) + bottom * fy;
}

/** Pixels of `img` as floats in [0, 1], HWC in the model's shape. */
export function toModelPixels(img: Rgba, file: string, options: ImageLoadOptions): Float32Array {
  const [h, w, c] = options.imageShape;
  const mode = options.resize ?? 'none';
  if ((img.height !== h || img.width !== w) && mode === 'none') {
    throw new UserInputError(
      `${file} is ${img.width}×${img.height} pixels but the model takes ${w}×${h}. Resize the image to ${w}×${h}, ` +
        `or set "unlearnLens.data.resize" to "bilinear" (or "nearest") to resize on load.`,
      file,
    );
  }
  if (c !== 1 && c !== 3) throw new UserInputError(`The model takes ${c} channels; only grayscale (1) and RGB (3) images are supported.`, file);
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const r = resized(img, h, w, y, x, 0, mode);
      const g = resized(img, h, w, y, x, 1, mode);
      const b = resized(img, h, w, y, x, 2, mode);
      const at = (y * w + x) * c;
      if (c === 1) {
        // ITU-R BT.601 luma: how grayscale training sets were made from colour photographs.
        out[at] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
      } else {
        out[at] = r / 255;
        out[at + 1] = g / 255;
        out[at + 2] = b / 255;
      }
    }
  }
  return out;
}

export async function readImage(file: string, options: ImageLoadOptions): Promise<Float32Array> {
  const bytes = await readRegularFile(file, { maxBytes: MAX_IMAGE_BYTES, what: 'image', fix: 'Fix the path or remove it from the selection.' });
  checkImageHeader(bytes, file);
  return toModelPixels(decodeBytes(bytes, file), file, options);
}

/**
 * A `classes.json` (a JSON array of distinct class names in the model's output order), or undefined
 * when there is none; anything else there is refused with a message.
 */
export async function readClassList(listed: string): Promise<string[] | undefined> {
  const exists = await fs.lstat(listed).then(() => true, () => false);
  if (!exists) return undefined;
  const fix = `Write ${listed} as a JSON array of class names in the model's output order, like ["cat", "dog"].`;
  const text = (await readRegularFile(listed, { maxBytes: MAX_JSON_BYTES, what: 'class list', fix })).toString('utf8');
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch (e) {
    throw new UserInputError(`${listed} is not valid JSON (${(e as Error).message}). ${fix}`, listed);
  }
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n !== '')) throw new UserInputError(`${listed} must be a non-empty JSON array of class names. ${fix}`, listed);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UserInputError(`${listed} names the class "${dup}" twice. ${fix}`, listed);
  return names as string[];
}

/** Class names of a folder dataset: `classes.json` when present, else sorted sub-folder names. */
export async function folderClassNames(root: string): Promise<string[]> {
  const listed = path.join(root, 'classes.json');
  const names = await readClassList(listed);
  if (names) return names;
  const entries = await fs.readdir(root, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    throw new UserInputError(`The dataset folder ${root} ` +
      `${e.code === 'ENOENT' ? 'does not exist' : e.code === 'ENOTDIR' ? 'is a file, not a folder' : `cannot be read (${e.code ?? e})`}. Choose the ` +
      `folder that holds one sub-folder per class.`, root);
  });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/**
 * The folder that holds a class: its name, with characters no file name may carry replaced by
 * `_` (Fashion-MNIST's "T-shirt/top" lives in `T-shirt_top`).
 */
export const classFolderName = (className: string): string => className.replace(/[/\\:*?"<>|]/g, '_');

/** The class index of a folder name, or -1. */
export const classOfFolder = (folder: string, classNames: string[]): number => {
  const exact = classNames.indexOf(folder);
  return exact >= 0 ? exact : classNames.findIndex((c) => classFolderName(c) === folder);
};

export interface ImageInstances extends Dataset {
  /** The file of each instance, in order. */
  files: string[];
  /** Selected more than once (the same file, or a file and its folder): counted once. */
  duplicatesMerged?: number;
}

/** Loads images whose labels are already known. */
export async function loadLabelledImages(items: Array<{ file: string; label: number }>, classNames: string[], options: ImageLoadOptions, name: string): Promise<ImageInstances> {
  const [h, w, c] = options.imageShape;
  const size = h * w * c;
  const images = new Float32Array(items.length * size);
  const labels = new Int32Array(items.length);
  for (let i = 0; i < items.length; i++) {
    images.set(await readImage(items[i].file, options), i * size);
    labels[i] = items[i].label;
  }
  return { name, imageShape: options.imageShape, images, labels, classNames, files: items.map((it) => it.file) };
}

/** Images under `dir`, recursively, in name order (hidden folders skipped). */
export async function imagesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() && !e.name.startsWith('.')) files.push(...(await imagesUnder(full)));
    else if (e.isFile() && isImageFile(e.name)) files.push(full);
  }
  return files;
}

/** A whole folder dataset (`root/<class>/<image>`), classes in the order of `folderClassNames`. */
export async function loadImageFolder(root: string, options: ImageLoadOptions): Promise<ImageInstances> {
  const classNames = await folderClassNames(root);
  if (classNames.length === 0) throw new UserInputError(`${root} has no class sub-folders. Put the images of each class in a folder named after the class.`, root);
  const items: Array<{ file: string; label: number }> = [];
  for (const [label, name] of classNames.entries()) {
    const dir = path.join(root, classFolderName(name));
    try {
      for (const file of await imagesUnder(dir)) items.push({ file, label });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return loadLabelledImages(items, classNames, options, path.basename(root));
}

/**
 * Selected files and folders (the Explorer's multi-selection) inside one folder dataset: each
 * image is labelled by the class folder it sits in. `root` is the dataset folder; when omitted it is
 * the grandparent of the first image. An image selected twice (itself and its folder, or through a
 * symlink) counts once (`duplicatesMerged`); one that would carry two labels is refused. Images that
 * resolve outside `root` are refused unless `options.allowOutside`.
 */
export async function loadSelectedImages(selection: string[], options: ImageLoadOptions, root?: string): Promise<ImageInstances> {
  const files: string[] = [];
  for (const p of selection) {
    const stat = await fs.stat(p).catch(() => undefined);
    if (!stat) throw new UserInputError(`${p} does not exist. Refresh the Explorer and select again.`, p);
    if (stat.isDirectory()) files.push(...(await imagesUnder(p)));
    else files.push(p);
  }
  if (files.length === 0) throw new UserInputError(`No PNG or JPEG images in the selection (${selection.join(', ')}).`, selection[0]);
  const datasetRoot = root ?? path.dirname(path.dirname(files[0]));
  const classNames = await folderClassNames(datasetRoot);
  const realRoot = await realPathOrParent(datasetRoot);
  const byReal = new Map<string, { file: string; label: number }>();
  let duplicatesMerged = 0;
  for (const file of files) {
    const rel = path.relative(datasetRoot, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UserInputError(`${file} is outside the dataset folder ${datasetRoot}. Select images of one dataset at a time.`, file);
    const label = classOfFolder(rel.split(path.sep)[0], classNames);
    if (label < 0 || rel.split(path.sep).length < 2) {
      throw new UserInputError(`${file} is not in a class folder of ${datasetRoot} (classes: ${classNames.join(', ')}). Move it into the folder of its class.`, file);
    }
    const real = await realPathOrParent(file);
    if (!options.allowOutside && !(await isInsideFolder(realRoot, real))) {
      throw new UserInputError(`${file} is a link to ${real}, outside the dataset folder ${datasetRoot}. Copy the image into the dataset, or pass ` +
        `--allow-outside to read it where it is.`, file);
    }
    const seen = byReal.get(real);
    if (seen && seen.label !== label) {
      throw new UserInputError(`${file} and ${seen.file} are the same image (${real}) in two class folders (${classNames[label]} and ` +
        `${classNames[seen.label]}). An image has one label: remove one of them.`, file);
    }
    if (seen) duplicatesMerged++;
    else byReal.set(real, { file, label });
  }
  const loaded = await loadLabelledImages([...byReal.values()], classNames, options, path.basename(datasetRoot));
  return { ...loaded, duplicatesMerged };
}
