/**
 * The paper's baseline for irregular time series (§5): an RNN that reads the observations with the
 * time gaps as input. Here it runs forward over the grid of a spiral's times; at each time it reads
 * the observation where there is one (its own last prediction where there is none), the time since
 * the last observation and whether this time is observed, and predicts the point at the next time.
 * Trained by the squared error on the observed points; extrapolation feeds its predictions back.
 */
import { tf } from '../../src/index.node.js';
import { Rng } from '../../src/random.js';

const HIDDEN = 25;

export class GapRnn {
  readonly variables: tf.Variable[] = [];
  private readonly cell: { w: tf.Variable; b: tf.Variable };
  private readonly out: { w: tf.Variable; b: tf.Variable };

  constructor(seed = 0) {
    const rng = new Rng(`gap-rnn:${seed}`);
    const dense = (din: number, dout: number) => {
      const bound = 1 / Math.sqrt(din);
      const [w, b] = tf.tidy(() => [tf.variable(tf.tensor(rng.uniforms(din * dout, -bound, bound), [din, dout])), tf.variable(tf.tensor(rng.uniforms(dout, -bound, bound), [dout]))]);
      this.variables.push(w, b);
      return { w, b };
    };
    this.cell = dense(2 + 2 + HIDDEN, HIDDEN);
    this.out = dense(HIDDEN, 2);
  }

  /**
   * Predictions at every time of `times` [T, B, 2]: at time i, of the point at time i, made from what
   * was read up to time i − 1 (the first from the zero state). `x`/`mask` cover the first
   * `x.shape[0]` times; later times are extrapolated.
   */
  predict(x: tf.Tensor3D, mask: tf.Tensor2D, times: readonly number[]): tf.Tensor3D {
    return tf.tidy(() => {
      const [observedSteps, batch] = mask.shape;
      const xs = tf.unstack(x);
      const ms = tf.unstack(mask);
      let h = tf.zeros([batch, HIDDEN]) as tf.Tensor2D;
      let gap = tf.zeros([batch, 1]) as tf.Tensor2D;
      const predictions: tf.Tensor2D[] = [];
      for (let i = 0; i < times.length; i++) {
        const prediction = tf.add(tf.matMul(h, this.out.w), this.out.b) as tf.Tensor2D;
        predictions.push(prediction);
        const m = i < observedSteps ? ms[i].reshape([batch, 1]) : tf.zeros([batch, 1]);
        // Read the observation where there is one, else the prediction (the run carries on).
        const value = i < observedSteps ? tf.add(tf.mul(m, xs[i]), tf.mul(tf.sub(1, m), prediction)) : prediction;
        const dt = i > 0 ? times[i] - times[i - 1] : 0;
        gap = tf.add(gap, dt) as tf.Tensor2D;
        h = tf.tanh(tf.add(tf.matMul(tf.concat([value, gap, m, h], 1), this.cell.w), this.cell.b)) as tf.Tensor2D;
        gap = tf.mul(tf.sub(1, m), gap) as tf.Tensor2D;
      }
      return tf.stack(predictions) as tf.Tensor3D;
    });
  }

  /** Mean squared error of the predictions at the observed points (per coordinate). */
  loss(x: tf.Tensor3D, mask: tf.Tensor2D, times: readonly number[]): tf.Scalar {
    const predicted = this.predict(x, mask, times);
    const error = tf.mul(tf.sum(tf.square(tf.sub(predicted, x)), 2), mask);
    return tf.div(tf.sum(error), tf.mul(tf.sum(mask), 2)) as tf.Scalar;
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}
