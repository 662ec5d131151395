/**
 * Defaults for a selection of training instances, shared by the extension host and the command
 * line: which dataset they belong to and which held-out data goes with them. Only the file system;
 * no tensors (the extension host imports it).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ForgetSelection } from '../../contracts/protocol';

/** The class-folder dataset selected files belong to: a class folder's parent, or an image's grandparent. */
export async function datasetRootOf(paths: string[]): Promise<string> {
  const first = paths[0];
  const stat = await fs.stat(first).catch(() => undefined);
  return stat?.isDirectory() ? path.dirname(first) : path.dirname(path.dirname(first));
}

/**
 * Held-out data to measure collateral damage on when none is named: a manifest's own `split = test`
 * rows, or a `test` folder beside a dataset folder called `train`.
 */
export async function defaultTestData(selection: ForgetSelection): Promise<string | undefined> {
  if (selection.kind === 'manifest') return selection.manifest;
  const root = selection.datasetRoot;
  if (root && path.basename(root) === 'train') {
    const sibling = path.join(path.dirname(root), 'test');
    if ((await fs.stat(sibling).catch(() => undefined))?.isDirectory()) return sibling;
  }
  return undefined;
}
