/**
 * SGD with momentum and weight decay, with PyTorch's semantics (the reference's optimiser):
 *   d = g + wd * theta;  buf = momentum * buf + d;  theta -= lr * buf
 * tf.train.momentum has no weight decay, and decay folded into the loss would be seen by the
 * importance penalty's gradient scale differently; this keeps the update exactly the reference's.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';

export type SgdUpdate = {
  buffers: tfTypes.Tensor[];
  values: tfTypes.Tensor[];
};

/** 0 when every element of every tensor is finite, NaN otherwise (sum of x * 0; Mul and Sum exist on every backend). */
export function nonFiniteProbe(tensors: readonly tfTypes.Tensor[]): tfTypes.Scalar {
  return tf.tidy(() => tf.addN(tensors.map((t) => tf.sum(tf.mul(t, 0)))) as tfTypes.Scalar);
}

export class Sgd {
  private buffers: tfTypes.Tensor[] | undefined;

  constructor(
    private readonly variables: readonly tfTypes.Variable[],
    private readonly learningRate: number,
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {}

  step(grads: readonly tfTypes.Tensor[]): void {
    this.commit(this.propose(grads));
  }

  /** One step's update, not applied yet: the next momentum buffers and the next values (kept tensors). */
  propose(grads: readonly tfTypes.Tensor[]): SgdUpdate {
    return tf.tidy(() => {
      const buffers = this.variables.map((v, i) => {
        const d = this.weightDecay ? tf.add(grads[i], tf.mul(v, this.weightDecay)) : grads[i];
        // Kept: the update outlives any tidy scope the caller runs this step in.
        return tf.keep(this.buffers && this.momentum ? tf.add(tf.mul(this.buffers[i], this.momentum), d) : tf.clone(d));
      });
      const values = this.variables.map((v, i) => tf.keep(tf.sub(v, tf.mul(buffers[i], this.learningRate))));
      return { buffers, values };
    });
  }

  commit(update: SgdUpdate): void {
    if (this.buffers) tf.dispose(this.buffers);
    this.buffers = update.buffers;
    this.variables.forEach((v, i) => v.assign(update.values[i]));
    tf.dispose(update.values);
  }

  discard(update: SgdUpdate): void {
    tf.dispose([...update.buffers, ...update.values]);
  }

  dispose(): void {
    if (this.buffers) tf.dispose(this.buffers);
    this.buffers = undefined;
  }
}
