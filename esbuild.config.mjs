// One build, several entries: the extension host, the engine worker, the CLI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  // Loaded at run time from the user's workspace when present; never bundled.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
};

const builds = [
  { ...common, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'engine-worker': 'src/engine/runtime/worker.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { 'pgd-worker': 'src/engine/runtime/pgdWorker.ts' }, outdir: 'dist' },
  // The dataset gallery's script runs in the webview (a browser), not in Node.
  { ...common, platform: 'browser', target: 'es2022', format: 'iife', external: [], entryPoints: { gallery: 'webview/gallery.ts' }, outdir: 'dist/webview' },
  // The run report's and the model inspector's scripts (pages, regenerate, heatmap readout, choosing images).
  {
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    external: [],
    entryPoints: { report: 'webview/report.ts', inspector: 'webview/inspector.ts' },
    outdir: 'dist/webview',
  },
];

// The wasm backend loads its binaries from beside the bundle (see src/engine/runtime/backend.ts).
fs.mkdirSync('dist', { recursive: true });
for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  fs.copyFileSync(path.join('node_modules/@tensorflow/tfjs-backend-wasm/dist', file), path.join('dist', file));
}

// The report webview's component library (@vscode-elements/elements), loaded by the webview itself.
fs.mkdirSync('dist/webview', { recursive: true });
fs.copyFileSync('node_modules/@vscode-elements/elements/dist/bundled.js', 'dist/webview/elements.js');

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
