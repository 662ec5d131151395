/**
 * What the dataset gallery shows: every training instance of a class-folder dataset or a manifest,
 * with its label — file names only, no pixels decoded (the webview loads the images itself). Only
 * the file system; no tensors (the extension host imports it).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UserInputError } from '../../contracts/errors';
import { classFolderName, folderClassNames, imagesUnder } from './imageFolder';
import { isManifestFile, labelIndex, manifestClassNames, readManifest } from './manifest';

export interface GalleryItem {
  /** The image file (absolute). */
  file: string;
  /** Class index. */
  label: number;
  /** Manifests: the 0-based line that names the instance. */
  line?: number;
}

export interface GalleryListing {
  kind: 'folders' | 'manifest';
  /** The dataset folder or the manifest file. */
  source: string;
  classNames: string[];
  /** Grouped by class, in class order; within a class in file (folders) or line (manifest) order. */
  items: GalleryItem[];
  /** Manifest rows left out: held-out rows (`split` = test, as the engine reads them) and rows whose label is not a class. */
  skipped: number;
}

export async function listDataset(source: string): Promise<GalleryListing> {
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat) throw new UserInputError(`The dataset ${source} does not exist. Choose another with Unlearn: Select Dataset….`, source);
  if (stat.isFile()) {
    if (!isManifestFile(source)) throw new UserInputError(`${source} is neither a folder of class sub-folders nor a .csv/.jsonl manifest. Choose another with Unlearn: Select Dataset….`, source);
    const manifest = await readManifest(source);
    const classNames = await manifestClassNames(manifest);
    const items: GalleryItem[] = [];
    let skipped = 0;
    for (const row of manifest.rows) {
      const label = labelIndex(row.label, classNames);
      if (label < 0 || row.split === 'test') skipped++;
      else items.push({ file: row.file, label, line: row.line });
    }
    items.sort((a, b) => a.label - b.label || a.line! - b.line!);
    return { kind: 'manifest', source, classNames, items, skipped };
  }
  const classNames = await folderClassNames(source);
  if (classNames.length === 0) throw new UserInputError(`${source} has no class sub-folders. Put the images of each class in a folder named after the class.`, source);
  const items: GalleryItem[] = [];
  for (const [label, name] of classNames.entries()) {
    const files = await imagesUnder(path.join(source, classFolderName(name))).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    for (const file of files) items.push({ file, label });
  }
  return { kind: 'folders', source, classNames, items, skipped: 0 };
}
