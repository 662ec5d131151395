/**
 * The WebGPU backend: TensorFlow.js's webgpu kernels on Dawn for Node (the npm package `webgpu`,
 * which carries a prebuilt dawn.node per platform; no CUDA version to match).
 *
 * - `webgpu` is native and ESM-only, so it is never bundled: it is imported at run time from our
 *   own node_modules (a clone: CLI, tests) or from the folders the tfjs-node packages are looked up
 *   in (the workspace, unlearnLens.tfjsNodePath): the .vsix ships no node_modules, and Dawn's
 *   binaries for every platform are 90 MB.
 * - `auto` takes an adapter only when it is a real GPU. A software Vulkan (Mesa's lavapipe,
 *   SwiftShader) runs the same kernels 5–14× slower than the wasm backend: good for correctness
 *   tests, so it is accepted only when webgpu is asked for by name.
 * - The backend cannot read synchronously in Node (its readSync draws through OffscreenCanvas):
 *   the engine reads tensors with `await t.data()` only.
 * - navigator.gpu holds Dawn's instance; releaseWebGpu drops it so that Node can exit.
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Tf } from '../core/tf';
import { registerWebGpuAddN } from './kernels/webgpuAddN';

/** What an adapter says about itself (GPUAdapterInfo), and whether it is a CPU pretending to be a GPU. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
}

export type WebGpuStart = { ok: true; adapter: AdapterSummary; from: string } | { ok: false; reason: string };

/** Mesa's llvmpipe/lavapipe/softpipe, Google's SwiftShader, Microsoft's WARP (Basic Render Driver). */
const SOFTWARE_RENDERERS = /llvmpipe|lavapipe|softpipe|swiftshader|basic render|\bwarp\b/i;

export function summariseAdapter(
  info: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>>,
  isFallbackAdapter = false,
): AdapterSummary {
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  const description = info.description ?? '';
  const software = isFallbackAdapter || architecture.toLowerCase() === 'software' || SOFTWARE_RENDERERS.test(`${vendor} ${device} ${description}`);
  return { vendor, architecture, device, description, software };
}

export function adapterName(a: AdapterSummary): string {
  return a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unnamed adapter';
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface AdapterLike {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<AdapterLike | null>;
}

let started: { adapter: AdapterSummary; from: string } | undefined;
/** Validation and out-of-memory errors the device reported (Dawn prints them; tfjs does not throw). */
const deviceErrors: string[] = [];

/** Where `webgpu` resolves: beside our own code first, then each folder given. */
function resolveDawn(searchPaths: string[]): string | undefined {
  const bases = [__filename, ...searchPaths.map((dir) => path.join(path.resolve(dir), 'noop.js'))];
  for (const base of bases) {
    try {
      return createRequire(base).resolve('webgpu');
    } catch {
      // Not installed there: try the next place.
    }
  }
  return undefined;
}

async function loadDawn(searchPaths: string[]): Promise<{ dawn: DawnModule; from: string } | { reason: string }> {
  const resolved = resolveDawn(searchPaths);
  if (!resolved) {
    return { reason: `the package webgpu (Dawn for Node) is installed neither beside Unlearn Lens nor in ${searchPaths.join(', ') || 'a configured folder'}` };
  }
  try {
    // A file URL keeps this a run-time import: the package is ESM and must not be bundled.
    const dawn = (await import(pathToFileURL(resolved).href)) as DawnModule;
    return { dawn, from: path.dirname(resolved) };
  } catch (e) {
    return { reason: `the package webgpu at ${path.dirname(resolved)} failed to load: ${(e as Error).message}` };
  }
}

function setNavigatorGpu(gpu: GpuLike | undefined): void {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (gpu === undefined) {
    if (g.navigator && 'gpu' in g.navigator) delete g.navigator.gpu;
    return;
  }
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
}

/**
 * Starts TensorFlow.js's webgpu backend on `tf` (the bundled namespace), once per process.
 * `allowSoftware`: accept a software adapter (webgpu asked for by name), else only a real GPU.
 * Never throws for a missing package or adapter: says why instead, for the caller to decide.
 */
export async function startWebGpu(tf: Tf, searchPaths: string[], allowSoftware: boolean): Promise<WebGpuStart> {
  if (started) return { ok: true, ...started };
  const loaded = await loadDawn(searchPaths);
  if ('reason' in loaded) return { ok: false, reason: loaded.reason };
  const { dawn, from } = loaded;
  // GPUBufferUsage, GPUMapMode, … as a browser has them; tfjs refers to them as globals.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  const gpu = dawn.create([]);
  // The same request tfjs's webgpu backend makes (it asks for the high-performance adapter).
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    return { ok: false, reason: 'Dawn found no WebGPU adapter (no GPU, or no Vulkan, Metal or Direct3D 12 driver it accepts)' };
  }
  const summary = summariseAdapter(adapter.info ?? {}, adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter ?? false);
  if (summary.software && !allowSoftware) {
    return { ok: false, reason: `the only WebGPU adapter is a software renderer (${adapterName(summary)}), slower than wasm` };
  }
  setNavigatorGpu(gpu);
  try {
    // Importing the package registers the backend with tfjs-core; it starts on setBackend.
    await import('@tensorflow/tfjs-backend-webgpu');
    registerWebGpuAddN();
    if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend returned false');
    await tf.ready();
    if (tf.getBackend() !== 'webgpu') throw new Error(`tfjs runs on ${tf.getBackend()} instead`);
    // A failed GPU command leaves its output unwritten instead of throwing: keep the messages.
    const device = (tf.backend() as unknown as { device: EventTarget }).device;
    device.addEventListener('uncapturederror', (event) => {
      if (deviceErrors.length < 20) deviceErrors.push((event as unknown as { error: { message: string } }).error.message);
    });
  } catch (e) {
    setNavigatorGpu(undefined);
    return { ok: false, reason: `the webgpu backend of TensorFlow.js failed to start on ${adapterName(summary)}: ${(e as Error).message}` };
  }
  started = { adapter: summary, from };
  // If nothing releases it earlier: drop Dawn's instance once the event loop is empty, so Node exits.
  process.once('beforeExit', releaseWebGpu);
  return { ok: true, ...started };
}

/** Frees the GPU device and Dawn's instance; the process can exit afterwards. Safe to call twice. */
export function releaseWebGpu(): void {
  if (!started) return;
  started = undefined;
  setNavigatorGpu(undefined);
}

/** The errors the GPU device has reported so far in this process (the first 20); tests expect none. */
export function webGpuDeviceErrors(): readonly string[] {
  return deviceErrors;
}

export function webGpuAdapter(): AdapterSummary | undefined {
  return started?.adapter;
}
