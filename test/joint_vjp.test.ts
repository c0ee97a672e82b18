import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { flowOps } from '../src/nn/compute_path.js';
import { tfjsFlowOps } from '../src/nn/tfjs_flow_ops.js';
import { traceTangents } from '../src/flows/trace.js';
import { ACTIVATIONS, type ActivationName } from '../src/nn/activations.js';
import { DynamicsNet } from '../src/nn/dynamics_net.js';
import { firstOrderGradients } from '../src/ode/vjp.js';
import { Rng } from '../src/random.js';
import { setWasmKernels } from '../src/native/runtime.js';

describe('hand-derived VJP of the joint CNF dynamics', () => {
  afterEach(() => setWasmKernels(true));
  // Every activation (from the registry), each trace and regulariser combination once, on both paths.
  const cases = (Object.keys(ACTIVATIONS) as ActivationName[]).flatMap((activation, i) =>
    [true, false].map((kernels) => [activation, i % 2 ? 'hutchinson' : 'exact', i % 2 === 0, i >= 2, kernels] as const),
  );
  it.each(cases)('%s, %s trace, kinetic %s, jacobian %s, wasm kernels %s: value and every gradient equal the taped VJP', (activation, trace, kinetic, jacobian, kernels) => {
    setWasmKernels(kernels);
    const rng = new Rng(`vjp-${activation}-${trace}`);
    const net = new DynamicsNet({ dim: 3, hiddenDims: [12, 10], activation, layer: 'concatsquash' }, rng);
    const rows = 5;
    const x = tf.tensor2d(rng.normals(rows * 3), [rows, 3]);
    const v = traceTangents(trace, 'gaussian', rows, 3, rng);
    const terms = { kinetic, jacobian };
    const ops = flowOps(net, rows, v.shape[0]);
    expect(ops.path).toBe(kernels ? 'wasm-kernels' : 'tfjs');
    const f = ops.joint(v, terms);
    // The reference: the same dynamics as tfjs ops, differentiated on the tape.
    const reference = tfjsFlowOps(net).joint(v, terms);
    const t = tf.scalar(0.37);
    const outputs = 2 + (kinetic ? 1 : 0) + (jacobian ? 1 : 0);
    const cot = [tf.tensor2d(rng.normals(rows * 3), [rows, 3]), ...Array.from({ length: outputs - 1 }, () => tf.tensor1d(rng.normals(rows)))];
    const params = net.namedVariables().map(([, p]) => p);

    const manual = f.vjp!(t, [x, tf.zeros([rows])], cot);
    let taped: tf.Tensor[] = [];
    const { grads } = firstOrderGradients(() => {
      taped = reference(t, [x]).map((c) => tf.keep(c));
      return tf.addN(taped.map((c, i) => tf.sum(tf.mul(c, cot[i]))));
    }, [x, ...params, t]);
    const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
      expect(a.shape, what).toEqual(b.shape);
      const scale = Math.max(1e-3, tf.max(tf.abs(b)).dataSync()[0]);
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / scale, what).toBeLessThan(2e-5);
    };
    manual.value.forEach((m, i) => close(m, taped[i], `value ${i}`));
    close(manual.gradY[0], grads[0], 'dx');
    // The kernels return the parameter gradients as one flat tensor, in the variables' order.
    const gradParams = manual.gradParams.length === 1 ? tf.split(manual.gradParams[0], params.map((p) => p.size)).map((g, i) => g.reshape(params[i].shape)) : manual.gradParams;
    net.namedVariables().forEach(([name], i) => close(gradParams[i], grads[1 + i], name));
    close(manual.gradT, grads[grads.length - 1], 'dt');
    net.dispose();
  });
});
