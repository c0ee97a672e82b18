/**
 * A tfjs kernel written with tfjs ops: the kernel's inputs as tensors (a reference each, given back
 * on return), the result computed under tidy, and its data handed to the engine with the one
 * reference the kernel's output owns. cnfkit registers its wasm convolution gradients this way.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The kernel function computing `compute(inputs, attrs)` on `backend`'s data. */
export function kernelFromOps<A>(compute: (inputs: Record<string, tf.Tensor>, attrs: A) => tf.Tensor): tf.KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs: A }) => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, info] of Object.entries(inputs)) {
      backend.incRef(info.dataId);
      tensors[name] = tf.engine().makeTensorFromTensorInfo(info, backend);
    }
    try {
      const result = tf.tidy(() => compute(tensors, attrs));
      backend.incRef(result.dataId);
      result.dispose();
      return { dataId: result.dataId, shape: result.shape, dtype: result.dtype };
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }) as unknown as tf.KernelFunc;
}
