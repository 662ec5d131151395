/**
 * The membership-inference audit (a metric beyond the paper's): can an attacker who sees
 * only per-sample losses tell the forget instances from data the model never trained on? A
 * logistic regression on the log cross-entropy of each instance, forget (member) vs held-out
 * (non-member), balanced, scored by stratified cross-validation. 0.5: it cannot tell them apart;
 * near 1: it can — before unlearning because the instances were memorised (low loss), after an
 * unlearning that overshoots because they now stand out by a loss higher than unseen data's.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf';
import { asImages, logits } from './modelState';
import { crossEntropyPerExample } from './objectives';
import { Rng } from './rng';
import { subset, type Dataset } from '../data/dataset';

export interface MembershipAudit {
  /** Cross-validated accuracy of the attack on the balanced set (0.5 = chance). */
  accuracy: number;
  /** Instances per side (forget and held-out). */
  pairs: number;
  /** Median cross-entropy of each side, to read the direction. */
  medianLoss: { forget: number; heldOut: number };
}

/** The smallest number of instances per side for which the audit is computed. */
export const AUDIT_MIN_PAIRS = 4;

/** Cross-entropy of each instance under the model (inference mode). */
export async function perSampleLosses(
  model: tfTypes.LayersModel,
  images: Float32Array,
  labels: Int32Array,
  shape: readonly [number, number, number],
  chunk = 512,
): Promise<Float32Array> {
  const size = shape[0] * shape[1] * shape[2];
  const out = new Float32Array(labels.length);
  for (let start = 0; start < labels.length; start += chunk) {
    const n = Math.min(chunk, labels.length - start);
    const loss = tf.tidy(() =>
      crossEntropyPerExample(
        logits(model, asImages(images.subarray(start * size, (start + n) * size), n, shape), false, true),
        tf.tensor1d(labels.subarray(start, start + n), 'int32'),
      ),
    );
    out.set(await loss.data(), start);
    loss.dispose();
  }
  return out;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** 1-D logistic regression with an intercept (Newton's method, a small L2 on the slope so separable data converge). */
export function fitLogistic(x: readonly number[], y: readonly number[], l2 = 1e-3): { w: number; b: number } {
  let w = 0;
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    let gw = l2 * w;
    let gb = 0;
    let hww = l2;
    let hwb = 0;
    let hbb = 1e-9;
    for (let i = 0; i < x.length; i++) {
      const p = sigmoid(w * x[i] + b);
      const r = p - y[i];
      const s = p * (1 - p);
      gw += r * x[i];
      gb += r;
      hww += s * x[i] * x[i];
      hwb += s * x[i];
      hbb += s;
    }
    const det = hww * hbb - hwb * hwb;
    if (!(det > 0)) break;
    const dw = (hbb * gw - hwb * gb) / det;
    const db = (hww * gb - hwb * gw) / det;
    w -= dw;
    b -= db;
    if (Math.abs(dw) + Math.abs(db) < 1e-10) break;
  }
  return { w, b };
}

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The audit on per-sample losses. Both sides are cut to the same size (a seeded sample of the
 * larger); undefined when fewer than AUDIT_MIN_PAIRS instances per side remain.
 */
export function membershipAudit(forgetLosses: ArrayLike<number>, heldOutLosses: ArrayLike<number>, seed: number): MembershipAudit | undefined {
  const pairs = Math.min(forgetLosses.length, heldOutLosses.length);
  if (pairs < AUDIT_MIN_PAIRS) return undefined;
  const rng = new Rng(seed * 104729 + 11);
  const forget = rng.sample(forgetLosses.length, pairs).map((i) => forgetLosses[i]);
  const heldOut = rng.sample(heldOutLosses.length, pairs).map((i) => heldOutLosses[i]);
  const feature = (loss: number) => Math.log(Math.max(loss, 0) + 1e-12);
  // Stratified folds: each side shuffled and dealt round-robin.
  const folds = Math.min(5, pairs);
  const rows = [
    ...rng.permutation(pairs).map((i, j) => ({ x: feature(forget[i]), y: 1, fold: j % folds })),
    ...rng.permutation(pairs).map((i, j) => ({ x: feature(heldOut[i]), y: 0, fold: j % folds })),
  ];
  let correct = 0;
  for (let f = 0; f < folds; f++) {
    const train = rows.filter((r) => r.fold !== f);
    const mean = train.reduce((s, r) => s + r.x, 0) / train.length;
    const sd = Math.sqrt(train.reduce((s, r) => s + (r.x - mean) ** 2, 0) / train.length) || 1;
    const z = (x: number) => (x - mean) / sd;
    const { w, b } = fitLogistic(
      train.map((r) => z(r.x)),
      train.map((r) => r.y),
    );
    for (const r of rows) if (r.fold === f && (sigmoid(w * z(r.x) + b) >= 0.5 ? 1 : 0) === r.y) correct++;
  }
  return { accuracy: correct / rows.length, pairs, medianLoss: { forget: median(forget), heldOut: median(heldOut) } };
}

/** The audit's held-out side: a seeded sample of `test`, as many as there are forget instances; undefined when either side is too small. */
export function auditHeldOut(test: Dataset | undefined, k: number, seed: number): Dataset | undefined {
  if (!test || k < AUDIT_MIN_PAIRS || test.labels.length < AUDIT_MIN_PAIRS) return undefined;
  return subset(test, new Rng(seed * 31 + 7).sample(test.labels.length, Math.min(k, test.labels.length)), `${test.name}[audit]`);
}

/** The audit of `model` on the forget instances vs `heldOut` (from auditHeldOut). */
export async function auditModel(
  model: tfTypes.LayersModel,
  forget: { images: Float32Array; labels: Int32Array; imageShape: [number, number, number] },
  heldOut: Dataset,
  seed: number,
): Promise<MembershipAudit | undefined> {
  return membershipAudit(
    await perSampleLosses(model, forget.images, forget.labels, forget.imageShape),
    await perSampleLosses(model, heldOut.images, heldOut.labels, heldOut.imageShape),
    seed,
  );
}
