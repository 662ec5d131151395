/**
 * Choosing where tensor math runs.
 *
 *   tfjs-node-gpu / tfjs-node  when the user has them (workspace node_modules or a configured path);
 *                              never a dependency of ours: their installers download libtensorflow.
 *   webgpu                     a GPU through Dawn for Node (webgpu.ts); auto takes it only on real
 *                              hardware, after tfjs-node-gpu and before tfjs-node.
 *   wasm                       the default: XNNPACK with SIMD, plus our training kernels.
 *   cpu                        pure JavaScript; correct everywhere, slow.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { bundledTf, tf, useNamespace, type Tf } from '../core/tf';
import { registerWasmTrainingKernels } from './kernels/wasmConvGrads';
import { registerBatchNormGradient } from './kernels/batchNormGrad';
import { startWebGpu } from './webgpu';
import { UserInputError } from '../../contracts/errors';
import type { BackendChoice } from '../../contracts/options';
import type { BackendInfo } from '../../contracts/protocol';

export interface BackendOptions {
  choice: BackendChoice;
  /** Folders to resolve @tensorflow/tfjs-node(-gpu) from (the workspace, a configured path). */
  searchPaths: string[];
}

let active: BackendInfo | undefined;

function tryLoadNative(pkg: 'tfjs-node' | 'tfjs-node-gpu', searchPaths: string[]): { ns: Tf; from: string } | undefined {
  for (const dir of searchPaths) {
    try {
      const req = createRequire(path.join(path.resolve(dir), 'noop.js'));
      const resolved = req.resolve(`@tensorflow/${pkg}`);
      return { ns: req(resolved) as Tf, from: resolved };
    } catch {
      // Not there, or its native library failed to load: try the next place.
    }
  }
  return undefined;
}

/** The bundle ships the .wasm files beside itself; from source they are in the package. */
function wasmDirectory(): string {
  if (fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm-simd.wasm'))) return __dirname;
  // createRequire: the bundler must not try to resolve this; only the unbundled source gets here.
  return path.dirname(createRequire(__filename).resolve('@tensorflow/tfjs-backend-wasm'));
}

async function initBundled(name: 'wasm' | 'cpu'): Promise<void> {
  useNamespace(bundledTf);
  registerBatchNormGradient();
  if (name === 'wasm') {
    // Importing the package registers the backend; kernels must be registered before it starts.
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmDirectory() + path.sep);
    registerWasmTrainingKernels();
  }
  const ok = await bundledTf.setBackend(name);
  if (!ok) throw new Error(`The ${name} backend of TensorFlow.js failed to start.`);
  await bundledTf.ready();
}

/** Starts the requested backend (once per process) and says which one runs. */
export async function initBackend(options: Partial<BackendOptions> = {}): Promise<BackendInfo> {
  const choice = options.choice ?? 'auto';
  const searchPaths = options.searchPaths ?? [process.cwd()];
  if (active) return active;

  let noWebGpu: string | undefined;
  if (choice === 'tfjs-node' || choice === 'tfjs-node-gpu' || choice === 'webgpu' || choice === 'auto') {
    const candidates: Array<'tfjs-node-gpu' | 'webgpu' | 'tfjs-node'> = choice === 'auto' ? ['tfjs-node-gpu', 'webgpu', 'tfjs-node'] : [choice];
    for (const pkg of candidates) {
      if (pkg === 'webgpu') {
        useNamespace(bundledTf);
        registerBatchNormGradient();
        // Left to auto, Dawn is only asked where a GPU could be: on Linux without a GPU device node it
        // would print its driver probing to the terminal and find nothing.
        const absent = choice === 'auto' ? noGpuDevice() : undefined;
        if (absent) {
          noWebGpu = absent;
          continue;
        }
        const gpu = await startWebGpu(bundledTf, searchPaths, choice === 'webgpu');
        if (gpu.ok) {
          const where = `${gpu.adapter.description || gpu.adapter.vendor || 'an adapter'}${gpu.adapter.software ? ', a software renderer: for correctness checks, slower than wasm' : ''}`;
          active = { name: 'webgpu', choice: 'webgpu', searchPaths, description: `webgpu (Dawn from ${gpu.from}) on ${where}` };
          return active;
        }
        noWebGpu = gpu.reason;
        continue;
      }
      const found = tryLoadNative(pkg, searchPaths);
      if (found) {
        useNamespace(found.ns);
        await found.ns.setBackend('tensorflow');
        await found.ns.ready();
        active = { name: 'tensorflow', choice: pkg, searchPaths, description: `@tensorflow/${pkg} from ${found.from}` };
        return active;
      }
    }
    if (choice === 'webgpu') {
      throw new UserInputError(
        `The WebGPU backend could not start: ${noWebGpu}. It needs a GPU with a Vulkan (Linux), Metal (macOS) or ` +
          `Direct3D 12 (Windows) driver and the npm package webgpu (Dawn for Node) in the workspace (npm install webgpu@0.6.2) ` +
          `or in the folder of the setting unlearnLens.tfjsNodePath; or choose the built-in backend: --backend wasm (the setting unlearnLens.backend: wasm).`,
      );
    }
    if (choice !== 'auto') {
      throw new UserInputError(
        `@tensorflow/${choice} could not be loaded from ${searchPaths.join(', ')}. Install it in the workspace ` +
          `(npm install @tensorflow/${choice}) or point the setting unlearnLens.tfjsNodePath at a folder that has it; ` +
          `or choose the built-in backend: --backend wasm (the setting unlearnLens.backend: wasm).`,
      );
    }
  }
  const name = choice === 'cpu' ? 'cpu' : 'wasm';
  await initBundled(name);
  const wasmDescription = `wasm (XNNPACK, SIMD) with Unlearn Lens training kernels${noWebGpu ? `; no WebGPU: ${noWebGpu}` : ''}`;
  active = { name, choice: name, searchPaths, description: name === 'wasm' ? wasmDescription : 'cpu (pure JavaScript)' };
  return active;
}

export function activeBackend(): BackendInfo | undefined {
  return active;
}

/** For tests that compare backends inside one process. */
export async function switchBundledBackend(name: 'wasm' | 'cpu'): Promise<void> {
  await initBundled(name);
  active = { name, choice: name, searchPaths: [], description: name };
}

export { tf };

/** On Linux, why no GPU can be there (no render node, no NVIDIA or WSL device); undefined when one may be. */
export function noGpuDevice(
  platform: NodeJS.Platform = process.platform,
  listDev: () => string[] = () => fs.readdirSync('/dev'),
  listDri: () => string[] = () => fs.readdirSync('/dev/dri'),
): string | undefined {
  if (platform !== 'linux') return undefined;
  const read = (list: () => string[]): string[] => {
    try {
      return list();
    } catch {
      return [];
    }
  };
  if (read(listDri).some((name) => name.startsWith('renderD'))) return undefined;
  if (read(listDev).some((name) => /^nvidia\d+$/.test(name) || name === 'dxg')) return undefined;
  return 'this machine shows no GPU device (no /dev/dri render node, no /dev/nvidia*)';
}
