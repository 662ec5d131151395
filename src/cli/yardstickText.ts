/**
 * The pre-flight estimate and the gap to the retrained model, as the demo and `experiment` print them.
 */
import type { ExperimentResult } from '../engine/jobs/experiment';
import type { RetrainNoise, Yardstick } from '../engine/jobs/yardstick';
import { table } from './format';
import { pct } from '../shared/percent';

/** The pre-flight estimate: how many instances a model retrained without them would still get right. */
export function preflightText(r: Pick<ExperimentResult, 'preflight'>): string {
  const line = (t: ExperimentResult['preflight']['withData'], auc: number | undefined) => {
    const typical = t.instances.filter((e) => e.verdict === 'typical').length;
    return (
      `${typical} of ${t.instances.length} typical, ${t.instances.length - typical} memorised (from ` +
      `${t.heldOutSource}${auc === undefined ? '' : `; AUC ${auc.toFixed(2)} at predicting which ones the retrained model still gets right`})`
    );
  };
  return (
    `\nPre-flight estimate (before any run; typical = a model trained without the instance would probably still classify it correctly, memorised = it would ` +
    `not):\n` +
    `  with held-out data: ${line(r.preflight.withData, r.preflight.auc?.withData)}\n` +
    `  model and instances alone: ${line(r.preflight.alone, r.preflight.auc?.alone)}`
  );
}

const signed = (x: number, digits = 1): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/** The gap of each model to the one retrained without the forget set, beside the retrain-to-retrain noise. */
export function yardstickText(y: Yardstick, k: number): string {
  const ref = y.retrained;
  const header = ['model', 'forget', 'Δ forget', 'test', 'Δ test', 'membership AUC', 'test agreement with retrained'];
  const row = (r: Yardstick['rows'][number]) => [
    r.name,
    pct(r.forget),
    signed(100 * (r.forget - ref.forget)),
    pct(r.test),
    signed(100 * (r.test - ref.test)),
    `${r.membershipAuc.toFixed(2)}${r.membershipAuc < y.membershipNullBand[0] ? ' (overshot)' : r.membershipAuc > y.membershipNullBand[1] ? ' (memorised)' : ' (looks unseen)'}`,
    pct(r.agreementWithRetrained, 1),
  ];
  const noiseRow = (label: string, n: RetrainNoise) => [
    label,
    '',
    `±${(100 * n.forgetDifference).toFixed(1)}`,
    '',
    `±${(100 * n.testDifference).toFixed(1)}`,
    `±${n.membershipAucDifference.toFixed(2)}`,
    pct(n.agreement, 1),
  ];
  const rows = [
    [ref.name, pct(ref.forget), '', pct(ref.test), '', `${ref.membershipAuc.toFixed(2)}`, ''],
    ...(y.noiseWithout ? [noiseRow(`retrain vs retrain (${y.noiseWithout.seeds} seeds, without them)`, y.noiseWithout)] : []),
    ...(y.noise ? [noiseRow(`retrain vs retrain (${y.noise.seeds} seeds, all data)`, y.noise)] : []),
    ...(y.relabelled ? [row(y.relabelled)] : []),
    ...y.rows.map(row),
  ];
  return (
    `\nGap to the model retrained from scratch without the ${k} instances (the yardstick of unlearning):\n` +
    table(header, rows) +
    '\n' +
    `Δ = difference to the retrained model, in points; membership AUC = chance that a forgotten instance has a lower loss than a held-out test image ` +
    `(0.5: looks unseen; random draws of ${k} held-out images give ${y.membershipNullBand[0].toFixed(2)}–${y.membershipNullBand[1].toFixed(2)}, 5th–95th ` +
    `percentile; above: memorised, below: overshot); ` +
    `test agreement = share of test images given the same class as the retrained model. The retrain-vs-retrain rows are the noise: two trainings ` +
    `that differ only by their seed${
      y.noiseWithout
        ? ` (without them: two retrainings without the ${k} instances, which agree on ${Math.round(y.noiseWithout.forgetAgreement * k)} of ` +
          `the ${k}; all data: two trainings on all of it)`
        : ', on all the data'
    }.` +
    (y.relabelled ? ' "retrained with them relabelled" is what misclassifying these instances costs a model trained to do it.' : '')
  );
}
