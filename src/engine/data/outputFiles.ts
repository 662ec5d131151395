/**
 * Files a run writes besides its version (the CLI's `--json` run record): checked before the run
 * starts, so a bad path costs nothing and can never destroy an input. An output may not be any
 * input of the run, nor lie inside the model's, the data's or the versions folder (compared with
 * symlinks resolved, also for a file that does not exist yet); it must not be a folder or a
 * special file; its folder must exist and be writable; and an existing file is only replaced when
 * it is an earlier run record. Written atomically (temporary file, flush, rename).
 */
import * as fs from 'node:fs/promises';
import { constants } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserInputError } from '../../contracts/errors';
import { isWithin, MAX_JSON_BYTES, readRegularFile, realPathOrParent } from './inputFiles';

export interface ProtectedPath {
  path: string;
  /** For messages: "the model", "a selected image", "the dataset folder"… */
  what: string;
  /** A folder: nothing inside it may be written either. */
  folder?: boolean;
}

/** Run records this tool writes carry `format: "unlearn-lens-run/…"`. */
function isRunRecord(text: string): boolean {
  try {
    const json = JSON.parse(text) as { format?: unknown };
    return typeof json === 'object' && json !== null && typeof json.format === 'string' && json.format.startsWith('unlearn-lens-run');
  } catch {
    return false;
  }
}

/**
 * Checks that `target` (given as `flag`) can take a new file without harm; returns its absolute
 * path. Throws a UserInputError that names the file and the fix otherwise.
 */
export async function checkOutputFile(target: string, inputs: ProtectedPath[], flag = '--json', replaceable: (text: string) => boolean = isRunRecord, replaceableWhat = 'an Unlearn Lens run record'): Promise<string> {
  const abs = path.resolve(target);
  const fix = `Give ${flag} a new file name outside the model, data and versions folders, like ${flag} run-record.json.`;
  if (target.endsWith('/') || target.endsWith(path.sep)) throw new UserInputError(`${flag} ${target} names a folder; it takes a file. ${fix}`, abs);
  const parent = path.dirname(abs);
  const parentStat = await fs.stat(parent).catch(() => undefined);
  if (!parentStat) throw new UserInputError(`${flag} ${abs}: the folder ${parent} does not exist. Create it first, or ${fix[0].toLowerCase()}${fix.slice(1)}`, abs);
  if (!parentStat.isDirectory()) throw new UserInputError(`${flag} ${abs}: ${parent} is a file, not a folder. ${fix}`, abs);
  const stat = await fs.stat(abs).catch(() => undefined);
  if (stat?.isDirectory()) throw new UserInputError(`${flag} ${abs} is a folder; it takes a file. ${fix}`, abs);
  if (stat && !stat.isFile()) throw new UserInputError(`${flag} ${abs} is not a regular file (a device, FIFO or socket). ${fix}`, abs);
  const real = await realPathOrParent(abs);
  for (const input of inputs) {
    const realInput = await realPathOrParent(input.path);
    if (real === realInput) throw new UserInputError(`${flag} ${abs} is ${input.what} (${input.path}), an input of this run; writing there would destroy it. ${fix}`, abs);
    if (input.folder && isWithin(realInput, real)) throw new UserInputError(`${flag} ${abs} is inside ${input.what} (${input.path}), which this run only reads. ${fix}`, abs);
  }
  if (stat) {
    const text = (await readRegularFile(abs, { maxBytes: MAX_JSON_BYTES, what: 'file', fix })).toString('utf8');
    if (!replaceable(text)) throw new UserInputError(`${flag} ${abs} already exists and is not ${replaceableWhat}; it is never overwritten. ${fix} Or delete it first.`, abs);
  }
  try {
    await fs.access(parent, constants.W_OK);
  } catch (e) {
    throw new UserInputError(`${flag} ${abs}: the folder ${parent} is not writable (${(e as NodeJS.ErrnoException).code ?? e}). ${fix}`, abs);
  }
  return abs;
}

/** Writes `data` to a new `file` and flushes it to the disk before returning. */
export async function writeFileDurably(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `content` to `file` whole or not at all: a temporary file beside it, flushed, then renamed over it. */
export async function writeFileAtomically(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFileDurably(tmp, content);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** The weight shards a model.json names, resolved beside it (none when it cannot be read). */
export async function modelShardPaths(modelPath: string): Promise<string[]> {
  try {
    const text = (await readRegularFile(modelPath, { maxBytes: MAX_JSON_BYTES, what: 'model', fix: '' })).toString('utf8');
    const json = JSON.parse(text) as { weightsManifest?: Array<{ paths?: unknown }> };
    const dir = path.dirname(modelPath);
    return (json.weightsManifest ?? []).flatMap((g) => (Array.isArray(g?.paths) ? g.paths.filter((p): p is string => typeof p === 'string').map((p) => path.resolve(dir, p)) : []));
  } catch {
    return [];
  }
}
