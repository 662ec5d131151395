/**
 * Reading the user's files safely: only regular files are read (never a device, FIFO, socket or
 * folder, which could block or never end), with a size limit checked before a byte is read, and
 * images are refused by the size their header declares before they are decoded. Containment:
 * whether a path, symlinks resolved, lies inside a folder.
 */
import * as fs from 'node:fs/promises';
import { constants } from 'node:fs';
import * as path from 'node:path';
import { UserInputError } from '../../contracts/errors';

const MiB = 1024 * 1024;
/** Largest image file read (bytes). */
export const MAX_IMAGE_BYTES = 64 * MiB;
/** Largest width or height an image header may declare. */
export const MAX_IMAGE_SIDE = 4096;
/** Largest manifest read (bytes). */
export const MAX_MANIFEST_BYTES = 256 * MiB;
/** Largest JSON file (class list, earlier run record) read (bytes). */
export const MAX_JSON_BYTES = 64 * MiB;

const mib = (bytes: number) => `${(bytes / MiB).toFixed(bytes < MiB ? 2 : 0)} MiB`;

/** Why `code` (from open/stat) keeps `file` from being read, in words. */
function openProblem(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'ELOOP':
      return 'is a symbolic link that loops';
    case 'ENXIO':
    case 'EOPNOTSUPP':
      return 'is a socket or device, not a regular file';
    case 'ENOTDIR':
      return 'does not exist (a part of its path is a file, not a folder)';
    default:
      return `cannot be read (${code ?? 'unknown error'})`;
  }
}

export interface ReadOptions {
  /** Refuse files larger than this (bytes). */
  maxBytes: number;
  /** What the file is, for messages: "image", "manifest"… */
  what: string;
  /** What the user can do, appended to every message. */
  fix: string;
}

/**
 * The bytes of `file`, when it is a regular file of at most `maxBytes`. Opened without blocking
 * (a FIFO would otherwise wait for a writer forever), then checked on the open handle.
 */
export async function readRegularFile(file: string, options: ReadOptions): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new UserInputError(`The ${options.what} ${file} ${openProblem((e as NodeJS.ErrnoException).code)}. ${options.fix}`, file);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new UserInputError(`The ${options.what} ${file} is a folder, not a file. ${options.fix}`, file);
    if (!stat.isFile()) throw new UserInputError(`The ${options.what} ${file} is not a regular file (a device, FIFO or socket); only regular files are read. ${options.fix}`, file);
    if (stat.size > options.maxBytes) {
      throw new UserInputError(`The ${options.what} ${file} is ${mib(stat.size)}, more than the ${mib(options.maxBytes)} read for a ${options.what}. ${options.fix}`, file);
    }
    const bytes = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    throw new UserInputError(`The ${options.what} ${file} ${openProblem((e as NodeJS.ErrnoException).code)}. ${options.fix}`, file);
  } finally {
    await handle.close();
  }
}

/** Width and height an image's header declares (PNG IHDR, JPEG SOFn), or undefined when not found. */
export function imageHeaderSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isPng = bytes.length >= 24 && view.getUint32(0) === 0x89504e47 && view.getUint32(12) === 0x49484452; // 'IHDR'
  if (isPng) return { width: view.getUint32(16), height: view.getUint32(20) };
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // Markers without a length: TEM, RSTn, SOI, EOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      at += 2;
      continue;
    }
    const length = view.getUint16(at + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (at + 9 > bytes.length) return undefined;
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    }
    if (marker === 0xda) return undefined; // image data before any frame header
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/** Refuses an image whose header declares more than MAX_IMAGE_SIDE pixels a side, before decoding it. */
export function checkImageHeader(bytes: Uint8Array, file: string): void {
  const size = imageHeaderSize(bytes);
  if (!size) return; // the decoder names what is wrong
  if (size.width > MAX_IMAGE_SIDE || size.height > MAX_IMAGE_SIDE || size.width === 0 || size.height === 0) {
    throw new UserInputError(
      `${file} declares ${size.width}×${size.height} pixels; images up to ${MAX_IMAGE_SIDE}×${MAX_IMAGE_SIDE} are read (also with resizing). Shrink it to ` +
        `the model's input size, or remove it from the selection.`,
      file,
    );
  }
}

/** `p` with symlinks resolved; for a path that does not exist (yet), its nearest existing folder's real path joined with the rest. */
export async function realPathOrParent(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    if (parent === abs) return abs;
    return path.join(await realPathOrParent(parent), path.basename(abs));
  }
}

/** Whether `inner` is `outer` or lies under it (both already absolute and resolved). */
export function isWithin(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/** Whether `file`, symlinks resolved, lies inside `root`, symlinks resolved. */
export async function isInsideFolder(root: string, file: string): Promise<boolean> {
  return isWithin(await realPathOrParent(root), await realPathOrParent(file));
}
