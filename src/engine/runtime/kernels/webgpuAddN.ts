/**
 * AddN on the webgpu backend for any number of inputs.
 *
 * tfjs-backend-webgpu 4.22 binds every input of AddN as its own storage buffer in one shader; a
 * device has 8 storage buffers per shader stage unless more are asked for when it is created
 * (tfjs does not ask), so AddN of 8 or more tensors fails validation and, in Node, returns stale
 * memory without an exception. The importance penalty sums one term per parameter tensor (dozens),
 * and a residual net's Add layer can have many inputs. Summing in groups that fit the limit gives the
 * same result.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { bundledTf as tf } from '../../core/tf';

let registered = false;

/** Replaces the webgpu AddN kernel (registered by importing @tensorflow/tfjs-backend-webgpu) once. */
export function registerWebGpuAddN(): void {
  if (registered) return;
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original) throw new Error('The webgpu backend has no AddN kernel to wrap: import @tensorflow/tfjs-backend-webgpu first.');
  registered = true;
  const addGroup = (inputs: tfTypes.TensorInfo[], backend: WebGPUBackend, attrs: tfTypes.NamedAttrMap) =>
    original.kernelFunc({ inputs: inputs as unknown as tfTypes.NamedTensorInfoMap, backend, attrs }) as tfTypes.TensorInfo;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const tensors = inputs as unknown as tfTypes.TensorInfo[];
      const gpu = backend as WebGPUBackend;
      // One storage buffer is the output.
      const perGroup = Math.max(2, gpu.device.limits.maxStorageBuffersPerShaderStage - 1);
      if (tensors.length <= perGroup) return addGroup(tensors, gpu, attrs ?? {});
      let sum = addGroup(tensors.slice(0, perGroup), gpu, attrs ?? {});
      for (let next = perGroup; next < tensors.length; next += perGroup - 1) {
        const partial = sum;
        sum = addGroup([partial, ...tensors.slice(next, next + perGroup - 1)], gpu, attrs ?? {});
        gpu.disposeData(partial.dataId);
      }
      return sum;
    },
  });
}
