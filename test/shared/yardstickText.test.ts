import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { preflightText, yardstickText } from '../../src/cli/yardstickText';
import type { Yardstick } from '../../src/engine/jobs/yardstick';

const row = (name: string, forget: number, test: number, membershipAuc: number, agreementWithRetrained: number) => ({
  name,
  forget,
  retain: 0.9,
  test,
  membershipAuc,
  agreementWithRetrained,
  forgetAgreementWithRetrained: 1,
});

test('the gap table puts each model beside the retrained one and the noise, and reads the membership AUC against the null band', () => {
  const y: Yardstick = {
    retrained: row('retrained without them', 0.875, 0.911, 0.51, 1),
    noise: { agreement: 0.935, testDifference: 0.004, forgetDifference: 0.0625, membershipAucDifference: 0.02, forgetAgreement: 1, seeds: 2 },
    membershipNullBand: [0.42, 0.58],
    rows: [row('pre-trained', 1, 0.905, 0.62, 0.943), row('naive', 0, 0.176, 0.2, 0.19), row('naive [unseen]', 0.8125, 0.902, 0.47, 0.94)],
    retrainedCorrect: [],
  };
  const text = yardstickText(y, 16);
  assert.match(text, /without the 16 instances/);
  assert.match(text, /^retrained without them\s+87\.5 %\s+91\.1 %\s+0\.51/m);
  assert.match(text, /^retrain vs retrain \(2 seeds, all data\)\s+±6\.3\s+±0\.4\s+±0\.02\s+93\.5 %/m);
  assert.match(text, /^pre-trained\s+100\.0 %\s+\+12\.5\s+90\.5 %\s+−0\.6\s+0\.62 \(memorised\)\s+94\.3 %/m);
  assert.match(text, /^naive\s+0\.0 %\s+−87\.5\s+17\.6 %\s+−73\.5\s+0\.20 \(overshot\)/m);
  assert.match(text, /^naive \[unseen\]\s+81\.3 %\s+−6\.3\s+90\.2 %\s+−0\.9\s+0\.47 \(looks unseen\)/m);
  assert.match(text, /random draws of 16 held-out images give 0\.42–0\.58/);
  assert.doesNotMatch(text, /without them\)/, 'no row for a retrain-without pair that is not there');
});

test('with two retrainings without the instances, the gap table shows how far the yardstick itself moves', () => {
  const y: Yardstick = {
    retrained: row('retrained without them', 0.75, 0.872, 0.46, 1),
    noiseWithout: { agreement: 0.902, testDifference: 0.003, forgetDifference: 0.125, membershipAucDifference: 0.04, forgetAgreement: 0.8125, seeds: 2 },
    noise: { agreement: 0.901, testDifference: 0.003, forgetDifference: 0, membershipAucDifference: 0.03, forgetAgreement: 1, seeds: 2 },
    membershipNullBand: [0.39, 0.62],
    rows: [row('naive [unseen]', 0.9375, 0.87, 0.48, 0.912)],
    retrainedCorrect: [],
  };
  const text = yardstickText(y, 16);
  assert.match(text, /^retrain vs retrain \(2 seeds, without them\)\s+±12\.5\s+±0\.3\s+±0\.04\s+90\.2 %/m);
  assert.match(text, /^retrain vs retrain \(2 seeds, all data\)\s+±0\.0\s+±0\.3\s+±0\.03\s+90\.1 %/m);
  assert.ok(text.indexOf('without them)') < text.indexOf('all data)'), "the yardstick's own noise first");
  assert.match(text, /agree on 13 of the 16/);
});

test('the pre-flight text counts typical and memorised instances and gives the AUC when measured', () => {
  const est = (verdicts: string) => ({
    heldOutSource: 'held-out data' as const,
    instances: [...verdicts].map((v) => ({
      loss: 0.1,
      rank: 0.5,
      shiftedRank: 0.5,
      targetLoss: 0.2,
      stillCorrect: v === 't' ? 0.9 : 0.1,
      score: 0,
      verdict: v === 't' ? ('typical' as const) : ('memorised' as const),
    })),
  });
  const text = preflightText({
    preflight: { withData: est('ttmt'), alone: { ...est('tttt'), heldOutSource: 'shifted copies of the instances' }, auc: { withData: 0.875 } },
  });
  assert.match(text, /with held-out data: 3 of 4 typical, 1 memorised \(from held-out data; AUC 0\.88 at predicting/);
  assert.match(text, /model and instances alone: 4 of 4 typical, 0 memorised \(from shifted copies of the instances\)/);
});
