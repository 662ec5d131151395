/**
 * Which datasets the experiment's data steps offer: training data is never a workspace folder's
 * root (its images are whatever lies two folders down, not one dataset) nor a held-out folder
 * (test, t10k, val…), and the held-out step offers those held-out folders (and manifests) first.
 * Free of `vscode`; unit-tested.
 */
import * as path from 'node:path';

const HELD_OUT = /^(test|tests|testing|t10k|val|valid|validation|holdout|held-out|heldout|eval)$/i;
const isManifest = (p: string) => /\.(csv|jsonl)$/i.test(p);

/** A class-folder dataset whose folder name says it is held-out data. */
export const isHeldOutFolder = (dataset: string): boolean => !isManifest(dataset) && HELD_OUT.test(path.basename(dataset));

const isRoot = (dataset: string, roots: readonly string[]) => roots.some((r) => path.resolve(r) === path.resolve(dataset));

/** The datasets to offer as training data. */
export function trainingChoices(datasets: readonly string[], workspaceRoots: readonly string[]): string[] {
  return datasets.filter((d) => !isRoot(d, workspaceRoots) && !isHeldOutFolder(d));
}

/** The datasets to offer as held-out data, held-out folders first; never the training data itself (a manifest may be both: its test rows). */
export function heldOutChoices(datasets: readonly string[], workspaceRoots: readonly string[], training: string): string[] {
  const usable = datasets.filter((d) => !isRoot(d, workspaceRoots) && (isManifest(d) || path.resolve(d) !== path.resolve(training)));
  const rank = (d: string) => (isHeldOutFolder(d) ? 0 : path.resolve(d) === path.resolve(training) ? 1 : 2);
  return [...usable].sort((a, b) => rank(a) - rank(b));
}
