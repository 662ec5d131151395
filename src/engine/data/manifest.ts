/**
 * Manifests: one training instance per line, as CSV (`path,label[,split]`, an optional header) or
 * JSONL (`{"path": ..., "label": ..., "split": ...}`). Paths are relative to the manifest; a label
 * is a class name or a class index. Class names come from `classes.json` beside the manifest when
 * present, else from the labels themselves (sorted names, or indices).
 *
 * Parsing keeps the line of every row, so each problem is reported at its line (diagnostics).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UserInputError } from '../../contracts/errors';
import { loadLabelledImages, readClassList, readImage, type ImageInstances, type ImageLoadOptions } from './imageFolder';
import { MAX_MANIFEST_BYTES, readRegularFile, realPathOrParent, isWithin } from './inputFiles';
import type { ManifestProblem } from '../../contracts/protocol';

export interface ManifestRow {
  /** 0-based line in the manifest file. */
  line: number;
  /** As written. */
  path: string;
  /** Resolved against the manifest's folder. */
  file: string;
  label: string;
  split?: string;
}

export interface ParsedManifest {
  file: string;
  rows: ManifestRow[];
  problems: ManifestProblem[];
  /** Lines in the file as an editor numbers them (after a final newline, one more, empty). */
  lineCount: number;
}

export const isManifestFile = (file: string): boolean => /\.(csv|jsonl)$/i.test(file);

/** Splits one CSV line, honouring double quotes ("a,b" and "" escapes). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field.trim());
      field = '';
    } else field += ch;
  }
  fields.push(field.trim());
  return fields;
}

export function parseManifest(text: string, file: string): ParsedManifest {
  const jsonl = /\.jsonl$/i.test(file);
  const dir = path.dirname(file);
  const rows: ManifestRow[] = [];
  const problems: ManifestProblem[] = [];
  // A byte-order mark (as some editors save CSV) is not part of the first line.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let line = 0; line < lines.length; line++) {
    const raw = lines[line].trim();
    if (!raw || raw.startsWith('#')) continue;
    let p: unknown;
    let label: unknown;
    let split: unknown;
    if (jsonl) {
      try {
        const obj = JSON.parse(raw) as Record<string, unknown>;
        p = obj.path;
        label = obj.label;
        split = obj.split;
      } catch (e) {
        problems.push({ line, kind: 'syntax', message: `Line ${line + 1} of ${file} is not valid JSON (${(e as Error).message}). Each line must be {"path": "...", "label": ...}.` });
        continue;
      }
    } else {
      const fields = csvFields(raw);
      if (rows.length === 0 && problems.length === 0 && fields[0].toLowerCase() === 'path' && fields[1]?.toLowerCase() === 'label') continue;
      [p, label, split] = fields;
    }
    if (typeof p !== 'string' || !p || label === undefined || label === null || label === '') {
      problems.push({ line, kind: 'syntax', message: `Line ${line + 1} of ${file} needs a path and a label (${jsonl ? '{"path": "img.png", "label": "Shirt"}' : 'img.png,Shirt'}).` });
      continue;
    }
    rows.push({ line, path: p, file: path.resolve(dir, p), label: String(label), ...(split !== undefined && split !== '' ? { split: String(split) } : {}) });
  }
  return { file, rows, problems, lineCount: lines.length };
}

/** 0-based line numbers as an editor shows them, runs joined: [1, 4, 8, 9, 10, 11] → "2, 5, 9–12". */
export function describeLines(lines: number[]): string {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i] + 1}–${sorted[j] + 1}` : `${sorted[i] + 1}`);
    i = j + 1;
  }
  return parts.join(', ');
}

export async function readManifest(file: string): Promise<ParsedManifest> {
  const bytes = await readRegularFile(file, { maxBytes: MAX_MANIFEST_BYTES, what: 'manifest', fix: 'Choose a .csv or .jsonl manifest file (path,label[,split] per line).' });
  return parseManifest(bytes.toString('utf8'), file);
}

/** Class names for a manifest: `classes.json` beside it, else derived from its labels. */
export async function manifestClassNames(manifest: ParsedManifest, given?: string[]): Promise<string[]> {
  if (given?.length) return given;
  const listed = await readClassList(path.join(path.dirname(manifest.file), 'classes.json'));
  if (listed) return listed;
  const labels = [...new Set(manifest.rows.map((r) => r.label))];
  if (labels.every((l) => /^\d+$/.test(l))) {
    const max = Math.max(-1, ...labels.map(Number));
    return Array.from({ length: max + 1 }, (_, i) => String(i));
  }
  return labels.sort();
}

/** A label (name or index) as a class index, or -1. */
export function labelIndex(label: string, classNames: string[]): number {
  const byName = classNames.indexOf(label);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(label)) {
    const n = Number(label);
    if (n < classNames.length) return n;
  }
  return -1;
}

function unknownLabel(row: ManifestRow, manifestFile: string, classNames: string[]): ManifestProblem {
  return {
    line: row.line,
    kind: 'unknown-label',
    file: row.file,
    message: `Line ${row.line + 1} of ${manifestFile}: unknown label "${row.label}". Use a class name (${classNames.join(', ')}) or an index ` +
      `0..${classNames.length - 1}.`,
  };
}

/**
 * Every problem of a manifest, row by row: syntax, unknown labels, missing files, and (when
 * `options` is given) images that cannot be decoded or do not fit the model.
 */
export async function checkManifest(manifest: ParsedManifest, classNames: string[], options?: ImageLoadOptions): Promise<ManifestProblem[]> {
  const problems = [...manifest.problems];
  for (const row of manifest.rows) {
    if (labelIndex(row.label, classNames) < 0) problems.push(unknownLabel(row, manifest.file, classNames));
    const exists = await fs.stat(row.file).then((s) => s.isFile(), () => false);
    if (!exists) {
      problems.push({ line: row.line, kind: 'missing-file', file: row.file, message: `Line ${row.line + 1} of ${manifest.file}: ${row.file} does not exist. Fix the path (relative to the manifest) or remove the line.` });
      continue;
    }
    if (options) {
      try {
        await readImage(row.file, options);
      } catch (e) {
        problems.push({ line: row.line, kind: 'unreadable-image', file: row.file, message: `Line ${row.line + 1} of ${manifest.file}: ${(e as Error).message}` });
      }
    }
  }
  return problems.sort((a, b) => a.line - b.line);
}

export interface ManifestInstances extends ImageInstances {
  /** The manifest line (0-based) of each instance. */
  lines: number[];
}

/**
 * Loads the rows of `manifest` on `lines` (0-based; all rows when omitted). The first problem
 * stops the load with a UserInputError naming the manifest, the line and the image.
 */
export async function loadManifestRows(manifest: ParsedManifest, options: ImageLoadOptions, lines?: number[], classNamesGiven?: string[]): Promise<ManifestInstances> {
  const classNames = await manifestClassNames(manifest, classNamesGiven);
  const wanted = lines ? new Set(lines) : undefined;
  const rows = manifest.rows.filter((r) => !wanted || wanted.has(r.line));
  const syntax = manifest.problems.find((p) => !wanted || wanted.has(p.line));
  if (syntax) throw new UserInputError(syntax.message, manifest.file);
  const past = lines?.filter((l) => l >= manifest.lineCount) ?? [];
  if (past.length) {
    throw new UserInputError(`${past.length === 1 ? 'Line' : 'Lines'} ${describeLines(past)} ${past.length === 1 ? 'is' : 'are'} past the end of ` +
      `${manifest.file}, which has ${manifest.lineCount} line${manifest.lineCount === 1 ? '' : 's'}. Name lines that hold an image and its label.`, manifest.file);
  }
  if (rows.length === 0) {
    throw new UserInputError(
      lines?.length
        ? `${lines.length === 1 ? `Line ${lines[0] + 1} of ${manifest.file} does not name an instance` : `None of the selected lines (${describeLines(lines)}) of ${manifest.file} names an instance`}: a header, a blank line or a comment is not one. Select the lines of the instances to forget.`
        : `No manifest rows are selected in ${manifest.file}. Select the lines of the instances to forget.`,
      manifest.file,
    );
  }
  // One instance per image: rows naming the same file (symlinks resolved) are merged, or refused
  // when they give it two labels; rows resolving outside the manifest's folder are refused unless allowed.
  const root = await realPathOrParent(path.dirname(manifest.file));
  const byReal = new Map<string, { row: ManifestRow; label: number }>();
  let duplicatesMerged = 0;
  for (const row of rows) {
    const label = labelIndex(row.label, classNames);
    if (label < 0) throw new UserInputError(unknownLabel(row, manifest.file, classNames).message, manifest.file);
    const real = await realPathOrParent(row.file);
    if (!options.allowOutside && !isWithin(root, real)) {
      throw new UserInputError(
        `Line ${row.line + 1} of ${manifest.file}: ${row.path} resolves to ${real}, outside the manifest's folder ${path.dirname(manifest.file)}. ` +
          `Move the image under that folder and fix the line, or pass --allow-outside to read images outside it.`,
        manifest.file,
      );
    }
    const seen = byReal.get(real);
    if (seen && seen.label !== label) {
      throw new UserInputError(
        `Lines ${seen.row.line + 1} and ${row.line + 1} of ${manifest.file} name the same image (${real}) with two labels, ${classNames[seen.label]} and ` +
          `${classNames[label]}. An image has one label: fix or remove one of the lines.`,
        manifest.file,
      );
    }
    if (seen) duplicatesMerged++;
    else byReal.set(real, { row, label });
  }
  const kept = [...byReal.values()];
  const items = kept.map(({ row, label }) => ({ file: row.file, label }));
  try {
    const loaded = await loadLabelledImages(items, classNames, options, path.basename(manifest.file));
    return { ...loaded, lines: kept.map((k) => k.row.line), duplicatesMerged };
  } catch (e) {
    if (e instanceof UserInputError) {
      const row = rows.find((r) => r.file === e.file);
      throw new UserInputError(row ? `Line ${row.line + 1} of ${manifest.file}: ${e.message}` : e.message, e.file);
    }
    throw e;
  }
}

export async function loadManifest(file: string, options: ImageLoadOptions, lines?: number[], classNames?: string[]): Promise<ManifestInstances> {
  return loadManifestRows(await readManifest(file), options, lines, classNames);
}
