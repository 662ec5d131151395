/**
 * The shape of the source tree, as plain checks: no module imports itself back, neither at run time
 * nor through type-only imports, and src/contracts imports nothing of the engine, the extension or
 * VS Code.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const src = path.join(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/**
 * Relative imports (and re-exports) of a file, resolved to files. `runtimeOnly`: leave out what
 * vanishes when compiled (`import type`, a clause of types only).
 */
export function relativeImports(file: string, text: string, runtimeOnly = false): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'(\.[^']+)'/gm)) {
    if (runtimeOnly) {
      if (m[1]) continue;
      const names = /^\{([^}]*)\}$/.exec(m[2].trim());
      if (names && names[1].split(',').every((n) => !n.trim() || n.trim().startsWith('type '))) continue;
    }
    const target = path.join(path.dirname(file), m[3]);
    for (const candidate of [`${target}.ts`, path.join(target, 'index.ts'), target]) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        out.push(candidate);
        break;
      }
    }
  }
  return out;
}

/** Every cycle a depth-first walk of the import graph meets, as `a.ts → b.ts → a.ts`. */
function importCycles(runtimeOnly: boolean): string[] {
  const files = sourceFiles(src);
  const graph = new Map(files.map((f) => [f, relativeImports(f, fs.readFileSync(f, 'utf8'), runtimeOnly)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep].map((f) => path.relative(src, f)).join(' → '));
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  files.forEach((f) => state.has(f) || visit(f));
  return cycles;
}

test('no import cycle at run time', () => {
  assert.deepEqual(importCycles(true), []);
});

test('no import cycle through type-only imports either', () => {
  assert.deepEqual(importCycles(false), []);
});

test('the cycle check sees a cycle when there is one, and tells type-only imports apart', () => {
  const a = path.join(src, 'engine', 'core', 'unlearn.ts');
  assert.ok(relativeImports(a, "import { unlearn } from './unlearn';", true).includes(a));
  assert.deepEqual(relativeImports(a, "import type { ForgetSet } from './unlearn';", true), []);
  assert.deepEqual(relativeImports(a, "import { type ForgetSet } from './unlearn';", true), []);
  assert.ok(relativeImports(a, "import type { ForgetSet } from './unlearn';").includes(a));
  assert.ok(relativeImports(a, "export type { ForgetSet } from './unlearn';").includes(a));
});

test('src/contracts imports nothing from the engine, the extension or VS Code', () => {
  for (const file of sourceFiles(path.join(src, 'contracts'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from\s+'([^']+)'/g)) {
      assert.ok(!/^(vscode|@tensorflow\/)/.test(m[1]) && !/\.\.\/(engine|extension)(\/|$)/.test(m[1]), `${path.relative(src, file)} imports ${m[1]}`);
    }
  }
});

test('src/engine/core (the maths) imports nothing of the engine runtime, its jobs, the extension or VS Code', () => {
  for (const file of sourceFiles(path.join(src, 'engine', 'core'))) {
    for (const dep of relativeImports(file, fs.readFileSync(file, 'utf8'))) {
      const where = path.relative(src, dep);
      assert.ok(!/^(engine[/\\](runtime|jobs)|extension|cli)[/\\]/.test(where), `${path.relative(src, file)} imports ${where}`);
    }
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /from\s+'vscode'/, `${path.relative(src, file)} imports vscode`);
  }
});
