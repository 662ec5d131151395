/**
 * SGD with momentum and weight decay, with PyTorch's semantics (the reference's optimiser):
 *   d = g + wd * theta;  buf = momentum * buf + d;  theta -= lr * buf
 * tf.train.momentum has no weight decay, and decay folded into the loss would be seen by the
 * importance penalty's gradient scale differently; this keeps the update exactly the reference's.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';

export class Sgd {
  private buffers: tfTypes.Tensor[] | undefined;

  constructor(
    private readonly variables: readonly tfTypes.Variable[],
    private readonly learningRate: number,
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {}

  step(grads: readonly tfTypes.Tensor[]): void {
    const next = tf.tidy(() =>
      this.variables.map((v, i) => {
        const d = this.weightDecay ? tf.add(grads[i], tf.mul(v, this.weightDecay)) : grads[i];
        // Kept: the buffers outlive any tidy scope the caller runs this step in.
        return tf.keep(this.buffers && this.momentum ? tf.add(tf.mul(this.buffers[i], this.momentum), d) : tf.clone(d));
      }),
    );
    if (this.buffers) tf.dispose(this.buffers);
    this.buffers = next;
    tf.tidy(() => this.variables.forEach((v, i) => v.assign(tf.sub(v, tf.mul(next[i], this.learningRate)))));
  }

  dispose(): void {
    if (this.buffers) tf.dispose(this.buffers);
    this.buffers = undefined;
  }
}
