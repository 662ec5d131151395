/**
 * The yardstick of unlearning: the model retrained from scratch without the forget instances.
 * An unlearned model is judged by how far it is from that model, read against how far two
 * retrainings with different seeds are from each other (the noise floor).
 *
 * Figures, all in inference mode:
 * - accuracy on the forget set, the retain subset and the test set;
 * - membership AUC: the probability that a forget instance has a lower loss than a held-out image
 *   (ties count half) over the whole test set — 0.5 when the instances look like unseen data,
 *   above when they look memorised, below when unlearning overshot;
 * - its null band: the 5th–95th percentile of the same AUC for random draws of k held-out images
 *   against the rest (what "looks unseen" means at this k);
 * - agreement: the share of test images two models give the same class.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from '../core/rng';
import { accuracyOf, readSplit } from '../core/metrics';
import type { Dataset } from '../data/dataset';
import { packageRoot } from '../data/assets';

/** Share of positions where two prediction lists agree. */
export function agreement(a: Int32Array, b: Int32Array): number {
  if (a.length !== b.length) throw new RangeError(`Cannot compare ${a.length} predictions with ${b.length}.`);
  if (a.length === 0) return 0;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** P(member loss < non-member loss), ties half (the Mann–Whitney AUC); 0.5 when either side is empty. */
export function membershipAuc(memberLosses: ArrayLike<number>, nonMemberLosses: ArrayLike<number>): number {
  const m = memberLosses.length;
  const n = nonMemberLosses.length;
  if (m === 0 || n === 0) return 0.5;
  const all = [...Array.from(memberLosses, (v) => ({ v, member: true })), ...Array.from(nonMemberLosses, (v) => ({ v, member: false }))].sort(
    (a, b) => a.v - b.v,
  );
  // Midranks, 1-based.
  let rankSumMembers = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const midrank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) if (all[t].member) rankSumMembers += midrank;
    i = j + 1;
  }
  // U counts pairs where the member's loss is higher; membership is the opposite direction.
  const uHigher = rankSumMembers - (m * (m + 1)) / 2;
  return 1 - uHigher / (m * n);
}

/** The 5th and 95th percentile of the membership AUC of `k` random held-out images against the rest. */
export function membershipNullBand(heldOutLosses: ArrayLike<number>, k: number, seed: number, draws = 200): [number, number] {
  const n = heldOutLosses.length;
  if (k < 1 || n <= k) return [0.5, 0.5];
  const rng = new Rng(seed * 7907 + 3);
  const aucs: number[] = [];
  for (let d = 0; d < draws; d++) {
    const pick = new Set(rng.sample(n, k));
    const members: number[] = [];
    const rest: number[] = [];
    for (let i = 0; i < n; i++) (pick.has(i) ? members : rest).push(heldOutLosses[i]);
    aucs.push(membershipAuc(members, rest));
  }
  aucs.sort((a, b) => a - b);
  const q = (p: number) => aucs[Math.min(aucs.length - 1, Math.max(0, Math.round(p * (aucs.length - 1))))];
  return [q(0.05), q(0.95)];
}

/** What the yardstick reads off one model. */
export interface ModelReading {
  forget: number;
  retain: number;
  test: number;
  membershipAuc: number;
  testPredictions: Int32Array;
  forgetPredictions: Int32Array;
  testLosses: Float32Array;
  forgetLosses: Float32Array;
}

export async function readModel(model: tfTypes.LayersModel, forget: Dataset, retain: Dataset, test: Dataset): Promise<ModelReading> {
  const f = await readSplit(model, forget);
  const r = await readSplit(model, retain);
  const t = await readSplit(model, test);
  return {
    forget: accuracyOf(f.predictions, forget.labels),
    retain: accuracyOf(r.predictions, retain.labels),
    test: accuracyOf(t.predictions, test.labels),
    membershipAuc: membershipAuc(f.losses, t.losses),
    testPredictions: t.predictions,
    forgetPredictions: f.predictions,
    testLosses: t.losses,
    forgetLosses: f.losses,
  };
}

/** The retrained references shipped for an embedded model (references/<model>/<variant>/model.json). */
export interface RetrainedReferences {
  dir: string;
  /** Retrained without the forget set of (k, seed). */
  without?: string;
  /** Retrained without the same forget set with other training seeds: the noise of the yardstick itself. */
  withoutSeeds: string[];
  /** Retrained with each forget instance relabelled to its nearest other class. */
  relabelled?: string;
  /** The full training set retrained with other seeds (the noise floor). */
  fullSeeds: string[];
  /** The shipped model itself: trained on all the data with the same recipe, a retraining too. */
  shipped?: string;
}

export function referencesDir(modelName: string): string {
  return path.join(packageRoot(), 'references', modelName);
}

export function findReferences(modelName: string, k: number, seed: number): RetrainedReferences | undefined {
  const dir = referencesDir(modelName);
  if (!fs.existsSync(dir)) return undefined;
  const model = (variant: string) => {
    const file = path.join(dir, variant, 'model.json');
    return fs.existsSync(file) ? file : undefined;
  };
  // The variants `<prefix><N>` that have a model, by N (full-seed1, full-seed2, …).
  const variants = fs.readdirSync(dir);
  const seeded = (prefix: string) =>
    variants
      .filter((v) => v.startsWith(prefix) && /^\d+$/.test(v.slice(prefix.length)))
      .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
      .map(model)
      .filter((f): f is string => f !== undefined);
  const fullSeeds = seeded('full-seed');
  const withoutSeeds = seeded(`without-k${k}-s${seed}-seed`);
  const shipped = path.join(packageRoot(), 'models', modelName, 'model.json');
  const refs: RetrainedReferences = {
    dir,
    without: model(`without-k${k}-s${seed}`),
    withoutSeeds,
    relabelled: model(`relabel-k${k}-s${seed}`),
    fullSeeds,
    ...(fs.existsSync(shipped) ? { shipped } : {}),
  };
  return refs.without || refs.relabelled || fullSeeds.length ? refs : undefined;
}

/** How far two trainings that differ only by their seed are from each other. */
export interface RetrainNoise {
  /** Share of test images given the same class. */
  agreement: number;
  testDifference: number;
  forgetDifference: number;
  membershipAucDifference: number;
  /** Share of the forget instances given the same class. */
  forgetAgreement: number;
  seeds: number;
}

function retrainNoise(a: ModelReading, b: ModelReading): RetrainNoise {
  return {
    agreement: agreement(a.testPredictions, b.testPredictions),
    testDifference: Math.abs(a.test - b.test),
    forgetDifference: Math.abs(a.forget - b.forget),
    membershipAucDifference: Math.abs(a.membershipAuc - b.membershipAuc),
    forgetAgreement: agreement(a.forgetPredictions, b.forgetPredictions),
    seeds: 2,
  };
}

/** One row of the gap table: a model's figures and its distance to the retrained model. */
export interface YardstickRow {
  name: string;
  forget: number;
  retain: number;
  test: number;
  membershipAuc: number;
  /** Test-set agreement with the model retrained without the instances. */
  agreementWithRetrained: number;
  /** Forget instances it classifies the same way as the retrained model. */
  forgetAgreementWithRetrained: number;
}

export interface Yardstick {
  /** The model retrained without the forget set. */
  retrained: YardstickRow;
  /** Retrained with the forget set relabelled: what misclassifying them costs a model trained to do it. */
  relabelled?: YardstickRow;
  /** Two retrainings on all the data with different seeds: the noise any gap is read against. */
  noise?: RetrainNoise;
  /**
   * Two retrainings without the forget set, with different training seeds: how far the yardstick
   * itself moves (which forget instances a model that never saw them gets right depends on the seed).
   */
  noiseWithout?: RetrainNoise;
  /** The 5th–95th percentile of the membership AUC of random held-out draws of size k (under the retrained model). */
  membershipNullBand: [number, number];
  /** The rows: the pre-trained model, then each method, in the order given. */
  rows: YardstickRow[];
  /** Per forget instance: whether the retrained model classifies it correctly. */
  retrainedCorrect: boolean[];
}

/** ROC AUC of `scores` for telling `positive` instances from the others (ties half); undefined without both kinds. */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number | undefined {
  const pos = scores.filter((_, i) => positive[i]);
  const neg = scores.filter((_, i) => !positive[i]);
  if (pos.length === 0 || neg.length === 0) return undefined;
  // A positive ranked above a negative is a lower "loss" in membershipAuc's terms: negate.
  return membershipAuc(
    pos.map((v) => -v),
    neg.map((v) => -v),
  );
}

export function yardstickRow(name: string, reading: ModelReading, retrained: ModelReading): YardstickRow {
  return {
    name,
    forget: reading.forget,
    retain: reading.retain,
    test: reading.test,
    membershipAuc: reading.membershipAuc,
    agreementWithRetrained: agreement(reading.testPredictions, retrained.testPredictions),
    forgetAgreementWithRetrained: agreement(reading.forgetPredictions, retrained.forgetPredictions),
  };
}

/** Reads the references against the forget set and builds the gap table for `rows` (name, reading). */
export async function measureYardstick(
  refs: RetrainedReferences,
  data: { forget: Dataset; retain: Dataset; test: Dataset },
  rows: Array<{ name: string; reading: ModelReading }>,
  seed: number,
  load: (file: string) => Promise<tfTypes.LayersModel>,
): Promise<Yardstick | undefined> {
  if (!refs.without) return undefined;
  const read = async (file: string): Promise<ModelReading> => {
    const model = await load(file);
    try {
      return await readModel(model, data.forget, data.retain, data.test);
    } finally {
      model.dispose();
    }
  };
  const retrained = await read(refs.without);
  const result: Yardstick = {
    retrained: yardstickRow('retrained without them', retrained, retrained),
    membershipNullBand: membershipNullBand(retrained.testLosses, data.forget.labels.length, seed),
    rows: rows.map((r) => yardstickRow(r.name, r.reading, retrained)),
    retrainedCorrect: Array.from(retrained.forgetPredictions, (p, i) => p === data.forget.labels[i]),
  };
  if (refs.relabelled) result.relabelled = yardstickRow('retrained with them relabelled', await read(refs.relabelled), retrained);
  // Two trainings on all the data with different seeds: two retrainings, or the shipped model and one.
  const pair =
    refs.fullSeeds.length >= 2 ? refs.fullSeeds.slice(0, 2) : refs.fullSeeds.length === 1 && refs.shipped ? [refs.shipped, refs.fullSeeds[0]] : undefined;
  if (pair) result.noise = retrainNoise(await read(pair[0]), await read(pair[1]));
  if (refs.withoutSeeds.length) result.noiseWithout = retrainNoise(retrained, await read(refs.withoutSeeds[0]));
  return result;
}
