/**
 * Which backend the status bar names before the engine has started: the setting resolved the way
 * the engine resolves it (src/engine/runtime/backend.ts), without loading anything. `auto` with neither
 * native package in reach is wasm for certain; a native package found is named, and confirmed (or
 * corrected) once the engine has loaded it. Dawn for Node (`webgpu`) in reach makes wasm a guess: the
 * engine takes WebGPU only if it finds a real GPU. Free of `vscode`, so that it is unit-tested.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { BackendInfo, BackendRequest } from '../contracts/protocol';

export interface ExpectedBackend {
  name: string;
  /** False while the name depends on a native package loading (known once the engine has started it). */
  certain: boolean;
}

/** Whether `@tensorflow/<pkg>` (or Dawn for Node, `webgpu`) resolves from one of the folders (its files are not loaded). */
export function nativePackageFound(pkg: 'tfjs-node' | 'tfjs-node-gpu' | 'webgpu', searchPaths: readonly string[]): boolean {
  return searchPaths.some((dir) => {
    try {
      createRequire(path.join(path.resolve(dir), 'noop.js')).resolve(pkg === 'webgpu' ? pkg : `@tensorflow/${pkg}`);
      return true;
    } catch {
      return false;
    }
  });
}

export function expectedBackend(request: BackendRequest): ExpectedBackend {
  switch (request.choice) {
    case 'wasm':
    case 'cpu':
      return { name: request.choice, certain: true };
    case 'tfjs-node':
    case 'tfjs-node-gpu':
    case 'webgpu':
      return { name: request.choice, certain: false };
    default: {
      const native = (['tfjs-node-gpu', 'tfjs-node'] as const).find((pkg) => nativePackageFound(pkg, request.searchPaths));
      if (native) return { name: native, certain: false };
      return { name: 'wasm', certain: !nativePackageFound('webgpu', request.searchPaths) };
    }
  }
}

/** The backend the engine runs on, as the status bar names it: tfjs-node-gpu, tfjs-node, webgpu, wasm or cpu. */
export const backendLabel = (info: Pick<BackendInfo, 'choice' | 'name'>): string => (info.choice === 'auto' ? info.name : info.choice);
