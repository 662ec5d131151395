import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditText, describeProgress, GUARD_CHOICES, guardQuestion, runSummary } from '../../src/shared/runSummary';

// Four instances labelled 0..3; after the run three are predicted as another class.
const base = {
  id: '2026-11-28T07-00-00-000-adv-imp',
  steps: 42,
  stopped: 'forgotten' as const,
  options: { maxEpochs: 1000 },
  forget: { ids: ['a.png', 'b.png', 'c.png', 'd.png'], labels: [0, 1, 2, 3], predictedBefore: [0, 1, 2, 3], predictedAfter: [5, 1, 7, 9] },
  guard: { agreement: 0.97, minAgreement: 0.95, probeSize: 592 },
};

test('a clean run says how many were forgotten, in how many steps, and the new version', () => {
  assert.equal(runSummary(base), 'Unlearn: 3 of 4 forgotten in 42 steps. Saved as version 2026-11-28T07-00-00-000-adv-imp.');
});

test('the epoch cap, divergence and settling are named', () => {
  assert.match(runSummary({ ...base, stopped: 'max-epochs' }), /3 of 4 forgotten in 42 steps\. The run hit the cap of 1000 epochs\. Saved/);
  assert.match(
    runSummary({ ...base, stopped: 'diverged' }),
    /The run diverged \(the loss stopped being a finite number\); the last finite step was kept\. Saved/,
  );
  assert.match(
    runSummary({ ...base, stopped: 'settled' }),
    /in 42 steps\. The run settled: the instances short of their targets stopped getting closer\. Saved/,
  );
});

test('a guard that stopped the run says where, what it saw, and the step it rolled back to', () => {
  const guard = { agreement: 1, minAgreement: 0.625, probeSize: 592, tripped: { step: 20, agreement: 0.625, action: 'stop' as const, rolledBackToStep: 10 } };
  assert.equal(
    runSummary({ ...base, stopped: 'guard', guard }),
    'Unlearn: 3 of 4 forgotten in 42 steps. The guard stopped it at step 20 (agreement with the original model 62.5 %) and rolled back to step 10. Saved as version 2026-11-28T07-00-00-000-adv-imp.',
  );
  const { rolledBackToStep: _, ...noRollback } = guard.tripped;
  assert.match(
    runSummary({ ...base, stopped: 'guard', guard: { ...guard, tripped: noRollback } }),
    /stopped it at step 20 \(agreement with the original model 62\.5 %\)\. Saved/,
  );
});

test('a guard that only reports warns with the lowest agreement it saw, not the agreement at the trip', () => {
  const guard = { agreement: 0.4, minAgreement: 0.353, probeSize: 592, tripped: { step: 10, agreement: 0.85, action: 'report' as const } };
  assert.match(
    runSummary({ ...base, guard }),
    /forgotten in 42 steps\. Warning: the guard saw agreement with the original model fall to 35\.3 % \(collateral damage; see the report\)\. Saved/,
  );
});

test('an answered question is named in the summary: stopped by you, or continued by you', () => {
  const stop = {
    agreement: 1,
    minAgreement: 0.6,
    probeSize: 592,
    tripped: { step: 20, agreement: 0.6, action: 'stop' as const, rolledBackToStep: 10, answer: 'stop' as const },
  };
  assert.match(
    runSummary({ ...base, stopped: 'guard', guard: stop }),
    /The guard asked and you chose to stop at step 20 \(agreement with the original model 60\.0 %\) and rolled back to step 10\. Saved/,
  );
  const go = {
    agreement: 0.3,
    minAgreement: 0.3,
    probeSize: 592,
    tripped: { step: 20, agreement: 0.6, action: 'report' as const, answer: 'continue' as const },
  };
  assert.match(
    runSummary({ ...base, guard: go }),
    /Warning: the guard saw agreement with the original model fall to 30\.0 %; you chose to continue at step 20 \(collateral damage; see the report\)\./,
  );
});

test('the guard question says what it saw and what each answer does', () => {
  const q = guardQuestion({ step: 20, agreement: 0.625, minAgreement: 0.9, rollbackStep: 10, remembered: 3, total: 16 });
  assert.equal(
    q.message,
    'Unlearn: the collateral-damage guard tripped at step 20. The model now agrees with the original on 62.5 % of the probe images (the lower part; threshold 90.0 %); 13 of 16 instances are forgotten so far.',
  );
  assert.match(
    q.detail,
    /^Stop and Roll Back: end the run with the model as it was at step 10, the last check that passed, saved as a new version\. Continue: carry on/,
  );
  assert.match(q.detail, /Continue: carry on to the end; the run record will say the guard tripped\.$/);
  assert.match(
    guardQuestion({ step: 10, agreement: 0.5, minAgreement: 0.9, rollbackStep: 0, remembered: 16, total: 16 }).detail,
    /as it was before the first step,/,
  );
  assert.deepEqual(Object.values(GUARD_CHOICES), ['Stop and Roll Back', 'Continue']);
});

test('progress reads the same in the extension and on the command line', () => {
  assert.equal(describeProgress({ phase: 'attack', step: 40, steps: 100, chunk: 1, chunks: 1 }), 'PGD 40/100');
  assert.equal(describeProgress({ phase: 'attack', step: 40, steps: 100, chunk: 2, chunks: 3 }), 'PGD 40/100 (chunk 2/3)');
  assert.equal(describeProgress({ phase: 'unlearn', step: 12, epoch: 6, loss: -1, remembered: 4, total: 16 }), 'step 12 — forget accuracy 25 %');
  assert.equal(describeProgress({ phase: 'save' }), 'saving the new model version');
});

test('the membership audit is read out with its direction, and its absence is explained', () => {
  const forget = base.forget;
  const side = (accuracy: number, f: number, h: number) => ({ accuracy, pairs: 32, medianLoss: { forget: f, heldOut: h } });
  const before = side(0.8, 0.004, 0.3);
  assert.match(
    auditText({ forget, before: { test: 0.9 }, audit: { before, after: side(0.55, 0.31, 0.3) } }),
    /Before: 80\.0 % \(median loss: forget 4\.0e-3, held-out 0\.30\)\. After: 55\.0 % .* Close to chance/,
  );
  assert.match(
    auditText({ forget, before: { test: 0.9 }, audit: { before, after: side(0.97, 250, 0.3) } }),
    /After: 97\.0 % \(median loss: forget 2\.5e\+2, held-out 0\.30\)\. The forget instances now stand out by a loss higher than unseen data's/,
  );
  assert.match(auditText({ forget, before: { test: 0.9 }, audit: { before, after: side(0.9, 0.01, 0.3) } }), /still look memorised\.$/);
  assert.doesNotMatch(auditText({ forget, before: { test: 0.9 }, audit: { before, after: side(0.9, 0.01, 0.3) } }), /rough estimate/, '32 pairs');
  assert.equal(
    auditText({ forget, before: {}, audit: undefined }),
    "No membership audit: it needs held-out data (a test folder beside train, a manifest's test rows, or the testDataset setting).",
  );
  assert.equal(
    auditText({ forget: { ...forget, ids: ['a.png', 'b.png'] }, before: { test: 0.9 }, audit: undefined }),
    'No membership audit: it needs at least 4 forget instances (this run had 2).',
  );
  assert.equal(
    auditText({ forget, before: { test: 0.9 }, audit: undefined }),
    'No membership audit in this run record: it had fewer than 4 held-out instances, or was made before Unlearn Lens audited runs.',
  );
});

test('continual runs say whether earlier erasures stay forgotten, came back, or could not be checked', () => {
  const e = (over: object) => ({ instances: 3, missing: 0, rememberedBefore: 0, rememberedAfter: 0, cameBack: [] as string[], ...over });
  assert.match(runSummary({ ...base, earlier: e({}) }), /in 42 steps\. The 3 instances erased by earlier runs stay forgotten\. Saved as/);
  assert.match(
    runSummary({ ...base, earlier: e({ rememberedAfter: 2, cameBack: ['/d/train/Bag/x.png', 'C:\\d\\y.png'], missing: 1 }) }),
    /Warning: 2 instances earlier runs erased are predicted as their label again \(x\.png, y\.png\) \(1 earlier erased image could not be read and was not checked\)\. Saved/,
  );
  assert.match(
    runSummary({ ...base, earlier: e({ rememberedBefore: 1, rememberedAfter: 1 }) }),
    / 1 of the 3 instances earlier runs tried to erase is still predicted as its label, as before this run\./,
  );
  assert.match(
    runSummary({ ...base, earlier: e({ instances: 0, missing: 2 }) }),
    /in 42 steps\. 2 earlier erased images could not be read and were not checked\. Saved/,
  );
  assert.doesNotMatch(runSummary(base), /earlier/);
});

test('a relabel run counts the instances now predicted as their new label', () => {
  // New labels 5, 2, 7, 0: after the run 5, 1, 7, 9 — two of four hit.
  const record = { ...base, options: { maxEpochs: 1000, objective: { kind: 'relabel' as const, labels: [5, 2, 7, 0] } } };
  assert.match(runSummary(record), /^Unlearn: 2 of 4 relabelled in 42 steps\./);
});

test('one step and one epoch are singular; more are plural', () => {
  assert.match(
    runSummary({ ...base, steps: 1, stopped: 'max-epochs', options: { maxEpochs: 1 } }),
    /^Unlearn: 3 of 4 forgotten in 1 step\. The run hit the cap of 1 epoch\. Saved/,
  );
  assert.match(runSummary({ ...base, steps: 0 }), / in 0 steps\./);
  assert.match(runSummary({ ...base, steps: 2, stopped: 'max-epochs', options: { maxEpochs: 2 } }), / in 2 steps\. The run hit the cap of 2 epochs\./);
});
