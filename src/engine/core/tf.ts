/**
 * The TensorFlow.js namespace the engine computes with.
 *
 * Normally the bundled @tensorflow/tfjs. When the user's workspace provides @tensorflow/tfjs-node or
 * tfjs-node-gpu, that package carries its own tfjs-core instance, and tensors from two instances must
 * never mix, so the whole engine switches to the namespace the native package exports.
 */
import * as bundled from '@tensorflow/tfjs';

export type Tf = typeof bundled;

export let tf: Tf = bundled;

export function useNamespace(namespace: Tf): void {
  tf = namespace;
}

export { bundled as bundledTf };
