/**
 * Which model file a line of training code loads or saves: the calls the CodeLens reads
 * (`tf.loadLayersModel('file://…/model.json')`, `model.save('file://…')`, Keras `load_model('…')`),
 * where the path literal sits in the line, what it resolves to, and the same path rewritten to
 * point at another model (relative like the original). Free of `vscode`; unit-tested.
 */
import * as path from 'node:path';

export interface ModelCall {
  kind: 'load' | 'save';
  /** The function as written: loadLayersModel, save, load_model. */
  call: string;
  /** The path as written, without the quotes and without a `file://` prefix. */
  path: string;
  /** `file://` when the literal has it (tfjs-node's file system handler), else ''. */
  prefix: string;
  /** Column range of the whole literal's content (prefix included, quotes excluded). */
  start: number;
  end: number;
}

// A call, then optional spaces, then a quoted literal ('…', "…" or `…` without ${}).
const CALLS: Array<{ kind: 'load' | 'save'; re: RegExp }> = [
  { kind: 'load', re: /\b(loadLayersModel|loadGraphModel|load_model)\s*\(\s*(['"`])((?:(?!\2)[^\\]|\\.)*?)\2/g },
  { kind: 'save', re: /\.(save)\s*\(\s*(['"`])((?:(?!\2)[^\\]|\\.)*?)\2/g },
];

/** The model loads and saves in one line of code, with a literal path (a variable cannot be followed). */
export function findModelCalls(line: string): ModelCall[] {
  const out: ModelCall[] = [];
  for (const { kind, re } of CALLS) {
    re.lastIndex = 0;
    for (let m = re.exec(line); m; m = re.exec(line)) {
      const [, call, quote, literal] = m;
      if (quote === '`' && literal.includes('${')) continue;
      const start = m.index + m[0].length - 1 - literal.length;
      const prefix = /^file:\/\//.test(literal) ? 'file://' : '';
      // Other URL schemes (http://, indexeddb://, localstorage://) are not files in the workspace.
      if (!prefix && /^[a-z][a-z0-9+.-]*:\/\//i.test(literal)) continue;
      out.push({ kind, call, path: literal.slice(prefix.length), prefix, start, end: start + literal.length });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Where a written path may point: against the workspace root first (tfjs-node resolves file:// against the working directory), then the code's folder. */
export function candidatePaths(written: string, codeFolder: string, workspaceRoot: string | undefined): Array<{ file: string; base: string }> {
  if (path.isAbsolute(written)) return [{ file: path.normalize(written), base: '' }];
  const bases = [workspaceRoot, codeFolder].filter((b): b is string => !!b);
  return [...new Set(bases)].map((base) => ({ file: path.resolve(base, written), base }));
}

/** Whether `written` (resolved to `file`) names `modelJson`: the file itself, or its folder (Keras and directory-style saves). */
export function namesModel(file: string, modelJson: string): boolean {
  const target = path.resolve(modelJson);
  return path.resolve(file) === target || path.resolve(file) === path.dirname(target);
}

/**
 * `written` rewritten to point at `targetModelJson`, the way it was written: absolute stays
 * absolute, relative stays relative to the same `base` (keeping a leading "./"), a folder stays a
 * folder; forward slashes, the prefix kept.
 */
export function rewriteModelPath(call: Pick<ModelCall, 'path' | 'prefix'>, resolvedFile: string, base: string, targetModelJson: string): string {
  const pointsAtFolder = path.basename(resolvedFile) !== path.basename(targetModelJson) && !/\.json$/i.test(call.path);
  const target = pointsAtFolder ? path.dirname(targetModelJson) : targetModelJson;
  let out: string;
  if (path.isAbsolute(call.path) || !base) out = target;
  else {
    out = path.relative(base, target).split(path.sep).join('/');
    if (call.path.startsWith('./') && !out.startsWith('.')) out = `./${out}`;
  }
  if (path.isAbsolute(call.path)) out = out.split(path.sep).join('/');
  return `${call.prefix}${out}`;
}
