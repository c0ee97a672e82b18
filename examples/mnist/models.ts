/**
 * The Neural ODE paper's MNIST classifiers (Chen et al. 2018, §7.1, the lecture's table), on cnfkit
 * and tfjs-core ops: the same downsampling (conv 3×3, then two conv 4×4 stride 2 to 7×7), the same
 * head (norm, ReLU, average pool, linear), and between them
 *   ResNet  six residual blocks (norm, ReLU, conv, norm, ReLU, conv; plus the input),
 *   RK-Net  one ODE block dz/dt = f(t, z) solved by rk4, gradients by backprop through the solver,
 *   ODE-Net the same ODE block, gradients by the adjoint (memory flat in the steps);
 * f is the paper's: norm, ReLU, conv of [z, t], norm, ReLU, conv of [z, t], norm. Group norm with
 * min(32, channels) groups, as the paper's code. Plus the lecture's 1-layer MLP baseline.
 */
import { odeint, odeintAdjoint, tf } from '../../src/index.node.js';
import { Rng } from '../../src/random.js';

export type ModelKind = 'mlp' | 'resnet' | 'rknet' | 'odenet';

/** A classifier: logits for NHWC images, and its variables. */
export interface Classifier {
  readonly kind: ModelKind;
  logits(images: tf.Tensor4D): tf.Tensor2D;
  readonly variables: tf.Variable[];
  dispose(): void;
}

/** Sizes: channels (64 in the paper), residual blocks (6), rk4 steps over [0, 1] (ODE models). */
export interface ModelOptions {
  channels?: number;
  blocks?: number;
  steps?: number;
  seed?: number;
}

/** Builds a classifier with PyTorch-style (Kaiming uniform) initial weights from `seed`. */
export function buildClassifier(kind: ModelKind, options: ModelOptions = {}): Classifier {
  const { channels = 64, blocks = 6, steps = 10, seed = 0 } = options;
  const rng = new Rng(`mnist-model:${kind}:${seed}`);
  const variables: tf.Variable[] = [];
  const param = (shape: number[], fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    const v = tf.tidy(() => tf.variable(tf.tensor(rng.uniforms(shape.reduce((a, b) => a * b, 1), -bound, bound), shape)));
    variables.push(v);
    return v;
  };
  const conv = (k: number, cin: number, cout: number) => ({ w: param([k, k, cin, cout], k * k * cin), b: param([cout], k * k * cin) });
  const norm = (c: number) => {
    const [gamma, beta] = tf.tidy(() => [tf.variable(tf.ones([c])), tf.variable(tf.zeros([c]))]);
    variables.push(gamma, beta);
    return { gamma, beta, groups: Math.min(32, c) };
  };
  const linear = (din: number, dout: number) => ({ w: param([din, dout], din), b: param([dout], din) });

  if (kind === 'mlp') {
    const hidden = linear(784, 300);
    const out = linear(300, 10);
    return classifier(kind, variables, (x) => {
      const h = tf.relu(tf.add(tf.matMul(x.reshape([x.shape[0], 784]), hidden.w), hidden.b));
      return tf.add(tf.matMul(h, out.w), out.b) as tf.Tensor2D;
    });
  }

  const c = channels;
  const down = [conv(3, 1, c), norm(c), conv(4, c, c), norm(c), conv(4, c, c)] as const;
  const head = { norm: norm(c), fc: linear(c, 10) };
  const downsample = (x: tf.Tensor4D) => {
    let h = conv2d(x, down[0], 1, 1);
    h = conv2d(tf.relu(groupNorm(h, down[1])), down[2], 2, 1);
    return conv2d(tf.relu(groupNorm(h, down[3])), down[4], 2, 1);
  };
  const classify = (h: tf.Tensor4D) => {
    const pooled = tf.mean(tf.relu(groupNorm(h, head.norm)), [1, 2]);
    return tf.add(tf.matMul(pooled, head.fc.w), head.fc.b) as tf.Tensor2D;
  };

  if (kind === 'resnet') {
    const residual = Array.from({ length: blocks }, () => ({ n1: norm(c), c1: conv(3, c, c), n2: norm(c), c2: conv(3, c, c) }));
    return classifier(kind, variables, (x) => {
      let h = downsample(x);
      for (const r of residual) h = tf.add(h, conv2d(tf.relu(groupNorm(conv2d(tf.relu(groupNorm(h, r.n1)), r.c1, 1, 1), r.n2)), r.c2, 1, 1)) as tf.Tensor4D;
      return classify(h);
    });
  }

  // The ODE block's f(t, z): norm, ReLU, conv of [z, t], norm, ReLU, conv of [z, t], norm.
  const f = { n1: norm(c), c1: conv(3, c + 1, c), n2: norm(c), c2: conv(3, c + 1, c), n3: norm(c) };
  const odeVariables = variables.slice(variables.length - 10);
  const withTime = (z: tf.Tensor4D, t: tf.Scalar) => tf.concat([z, tf.mul(tf.onesLike(z.slice([0, 0, 0, 0], [-1, -1, -1, 1])), t)], 3) as tf.Tensor4D;
  const dynamics = (t: tf.Scalar, z: tf.Tensor) => {
    let h = tf.relu(groupNorm(z as tf.Tensor4D, f.n1));
    h = conv2d(withTime(h, t), f.c1, 1, 1);
    h = tf.relu(groupNorm(h, f.n2));
    h = conv2d(withTime(h, t), f.c2, 1, 1);
    return groupNorm(h, f.n3);
  };
  const solve = { method: 'rk4' as const, stepSize: 1 / steps };
  return classifier(kind, variables, (x) => {
    const z0 = downsample(x);
    const zs = kind === 'odenet' ? odeintAdjoint(dynamics, z0, [0, 1], { ...solve, params: odeVariables }) : odeint(dynamics, z0, [0, 1], solve);
    return classify(zs.slice([1], [1]).reshape(z0.shape) as tf.Tensor4D);
  });
}

function classifier(kind: ModelKind, variables: tf.Variable[], logits: (x: tf.Tensor4D) => tf.Tensor2D): Classifier {
  return { kind, variables, logits: (x) => tf.tidy(() => logits(x)), dispose: () => tf.dispose(variables) };
}

function conv2d(x: tf.Tensor4D, layer: { w: tf.Variable; b: tf.Variable }, stride: number, pad: number): tf.Tensor4D {
  return tf.add(tf.conv2d(x, layer.w as unknown as tf.Tensor4D, stride, pad), layer.b) as tf.Tensor4D;
}

/** Group normalisation over (H, W, channels of a group), then a per-channel scale and shift. */
function groupNorm(x: tf.Tensor4D, n: { gamma: tf.Variable; beta: tf.Variable; groups: number }): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const grouped = x.reshape([b, h, w, n.groups, c / n.groups]);
  const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
  const normalised = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, 1e-5))).reshape([b, h, w, c]);
  return tf.add(tf.mul(normalised, n.gamma), n.beta) as tf.Tensor4D;
}

/** The number of trainable parameters. */
export function parameterCount(model: Classifier): number {
  return model.variables.reduce((n, v) => n + v.size, 0);
}
