/**
 * The words and edits of manifest diagnostics, free of `vscode` so they are unit-tested: a problem's
 * message as it reads on its own line (no "Line 8 of /abs/…", paths relative to the workspace), the
 * labels to offer for an unknown one, and the edit that puts a label in a CSV or JSONL line.
 */
import * as path from 'node:path';

/** A message with the "Line N of <manifest>: " lead-in dropped (the diagnostic sits on that line) and absolute paths under `roots` made relative. */
export function diagnosticMessage(message: string, manifestFile: string, roots: readonly string[]): string {
  let out = message;
  const lead = new RegExp(`^Line \\d+ of ${escape(manifestFile)}: `);
  out = out.replace(lead, '');
  // Longest root first, so a nested workspace folder wins over its parent.
  for (const root of [...roots].sort((a, b) => b.length - a.length)) {
    const prefix = root.endsWith(path.sep) ? root : root + path.sep;
    out = out.split(prefix).join('');
  }
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A class name as a folder name (characters a folder cannot hold become "_"), as datasets are written. */
const folderName = (name: string): string => name.replace(/[/\\:*?"<>|]/g, '_');

/** Edit distance, case-insensitive (short strings: class names). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[y.length];
}

/**
 * The labels to offer for an unknown `label`: the class whose folder holds the image first (a row
 * `train/Sandal/x.png,Jacket` most likely means Sandal), then the closest names by spelling; at most `max`.
 */
export function labelSuggestions(label: string, classNames: readonly string[], imagePath?: string, max = 3): string[] {
  const out: string[] = [];
  if (imagePath) {
    const folder = path.basename(path.dirname(imagePath.split('/').join(path.sep)));
    const byFolder = classNames.find((c) => c === folder || folderName(c) === folder);
    if (byFolder) out.push(byFolder);
  }
  const ranked = [...classNames].filter((c) => !out.includes(c)).sort((a, b) => distance(label, a) - distance(label, b) || a.localeCompare(b));
  for (const c of ranked) {
    if (out.length >= max) break;
    // Only names that are plausibly what was meant: within half the label's length of edits.
    if (distance(label, c) <= Math.max(2, Math.ceil(label.length / 2))) out.push(c);
  }
  return out;
}

/**
 * The line `lineText` with its label `oldLabel` replaced by `newLabel`: the last CSV field, or the
 * JSONL "label" value. Undefined when the label cannot be found in the line as written.
 */
export function replaceLabel(lineText: string, oldLabel: string, newLabel: string, jsonl: boolean): { start: number; end: number; text: string } | undefined {
  if (jsonl) {
    const m = /("label"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d+)/.exec(lineText);
    if (!m) return undefined;
    const start = m.index + m[1].length;
    return { start, end: start + m[2].length, text: JSON.stringify(newLabel) };
  }
  const quotedNeeded = /[",\n]/.test(newLabel);
  const csvValue = quotedNeeded ? `"${newLabel.replace(/"/g, '""')}"` : newLabel;
  for (const written of [`"${oldLabel.replace(/"/g, '""')}"`, oldLabel]) {
    const at = lineText.lastIndexOf(written);
    if (at < 0) continue;
    // A field of its own: a comma (or the line's start) before it, a comma or the end after it.
    const before = lineText.slice(0, at).trimEnd();
    const after = lineText.slice(at + written.length).trimStart();
    if ((before === '' || before.endsWith(',')) && (after === '' || after.startsWith(','))) return { start: at, end: at + written.length, text: csvValue };
  }
  return undefined;
}
