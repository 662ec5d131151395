/**
 * The one-line summary shown after an unlearning run (the notification), built from its run
 * record. Kept free of `vscode` so that every wording — forgotten, capped, diverged, guard stopped
 * and rolled back, guard warning — is unit-tested.
 */
import type { EngineProgress, GuardTrip, RunRecord } from '../contracts/protocol';
import { plural } from './runView';
import { pct } from './percent';

type SummaryInput = Pick<RunRecord, 'id' | 'steps' | 'stopped' | 'guard' | 'forget'> &
  Partial<Pick<RunRecord, 'earlier'>> & { options: Pick<RunRecord['options'], 'maxEpochs'> & Partial<Pick<RunRecord['options'], 'objective'>> };

/** Continual runs: what became of the instances earlier runs in the chain erased. */
export function earlierText(e: RunRecord['earlier'] | undefined): string {
  if (!e) return '';
  const unread = `${plural(e.missing, 'earlier erased image', 'earlier erased images')} could not be read and ${e.missing === 1 ? 'was' : 'were'} not checked`;
  const missing = e.missing ? ` (${unread})` : '';
  if (e.instances === 0) return e.missing ? ` ${unread[0].toUpperCase()}${unread.slice(1)}.` : '';
  if (e.cameBack.length) {
    const names = e.cameBack
      .slice(0, 3)
      .map((id) => id.split(/[\\/]/).pop())
      .join(', ');
    return (
      ` Warning: ${plural(e.cameBack.length, 'instance an earlier run erased is', 'instances earlier runs erased are')} predicted as ` +
      `${e.cameBack.length === 1 ? 'its' : 'their'} label again (${names}${e.cameBack.length > 3 ? ', …' : ''})${missing}.`
    );
  }
  if (e.rememberedAfter === 0) return ` The ${plural(e.instances, 'instance', 'instances')} erased by earlier runs stay forgotten${missing}.`;
  return (
    ` ${e.rememberedAfter} of the ${plural(e.instances, 'instance', 'instances')} earlier runs tried to erase ${e.rememberedAfter === 1 ? 'is' : 'are'} ` +
    `still predicted as ${e.rememberedAfter === 1 ? 'its' : 'their'} label, as before this run${missing}.`
  );
}

export function runSummary(record: SummaryInput): string {
  const objective = record.options.objective;
  const relabel = objective?.kind === 'relabel' ? objective.labels : undefined;
  const forgotten = relabel
    ? record.forget.predictedAfter.filter((p, i) => p === relabel[i]).length
    : record.forget.predictedAfter.filter((p, i) => p !== record.forget.labels[i]).length;
  const stopNote =
    record.stopped === 'max-epochs'
      ? ` The run hit the cap of ${plural(record.options.maxEpochs, 'epoch')}.`
      : record.stopped === 'diverged'
        ? ' The run diverged (the loss stopped being a finite number); the last finite step was kept.'
        : record.stopped === 'settled'
          ? ` The run settled: the instances short of their targets stopped getting closer.`
          : '';
  const tripped = record.guard.tripped;
  const guard = !tripped
    ? ''
    : tripped.action === 'stop'
      ? ` The guard ${tripped.answer === 'stop' ? 'asked and you chose to stop at' : 'stopped it at'} step ${tripped.step} (agreement with the original ` +
        `model ${pct(tripped.agreement)})${tripped.rolledBackToStep !== undefined ? ` and rolled back to step ${tripped.rolledBackToStep}` : ''}.`
      : ` Warning: the guard saw agreement with the original model fall to ` +
        `${pct(record.guard.minAgreement)}${tripped.answer === 'continue' ? `; you chose to continue at step ${tripped.step}` : ''} (collateral damage; ` +
        `see the report).`;
  return (
    `Unlearn: ${forgotten} of ${record.forget.ids.length} ${relabel ? 'relabelled' : 'forgotten'} in ` +
    `${plural(record.steps, 'step')}.${stopNote}${guard}${earlierText(record.earlier)} Saved as version ${record.id}.`
  );
}

/** The buttons of the question a tripped `ask` guard puts, and what each answers. */
export const GUARD_CHOICES = { stop: 'Stop and Roll Back', continue: 'Continue' } as const;

/** The question a tripped `ask` guard puts to the user: what it saw, and what each answer does. */
export function guardQuestion(trip: GuardTrip): { message: string; detail: string } {
  const forgotten = trip.total - trip.remembered;
  return {
    message:
      `Unlearn: the collateral-damage guard tripped at step ${trip.step}. The model now agrees with the original on ${pct(trip.agreement)} of the ` +
      `probe images (the lower part; threshold ${pct(trip.minAgreement)}); ${forgotten} of ${trip.total} instances are forgotten so far.`,
    detail:
      `${GUARD_CHOICES.stop}: end the run with the model as it was ` +
      `${trip.rollbackStep === undefined ? 'before it started' : trip.rollbackStep === 0 ? 'before the first step' : `at step ${trip.rollbackStep}, the last check that passed`}, saved as a new version. ` +
      `${GUARD_CHOICES.continue}: carry on to the end; the run record will say the guard tripped.`,
  };
}

/** One line of progress: "PGD 40/100" during the attack, "step 12 — forget accuracy 25 %" while unlearning. */
export function describeProgress(p: EngineProgress): string {
  switch (p.phase) {
    case 'attack':
      return `PGD ${p.step}/${p.steps}${p.chunks > 1 ? ` (chunk ${p.chunk}/${p.chunks})` : ''}`;
    case 'importance':
      return 'weight importance (MAS)';
    case 'unlearn':
      return `step ${p.step} — forget accuracy ${Math.round((100 * p.remembered) / Math.max(1, p.total))} %`;
    case 'evaluate':
      return 'measuring accuracy';
    case 'save':
      return 'saving the new model version';
    case 'load':
      return 'loading model and images';
    case 'warning':
      return `Warning: ${p.message}`;
    case 'experiment':
      return `k=${p.k} seed=${p.seed} ${p.method}: ${describeProgress(p.inner)}`;
  }
}

type AuditInput = Pick<RunRecord, 'audit' | 'forget'> & { before: Pick<RunRecord['before'], 'test'> };

const lossText = (x: number): string => (x < 0.01 ? x.toExponential(1) : x < 100 ? x.toPrecision(2) : x.toExponential(1));

/**
 * The membership audit in words (the report and the command line): what it measures, before and
 * after, and which way the instances stand out. Why there is none when there is none.
 */
export function auditText(record: AuditInput): string {
  const a = record.audit;
  if (!a) {
    return record.before.test === undefined
      ? "No membership audit: it needs held-out data (a test folder beside train, a manifest's test rows, or the testDataset setting)."
      : record.forget.ids.length < 4
        ? `No membership audit: it needs at least 4 forget instances (this run had ${record.forget.ids.length}).`
        : 'No membership audit in this run record: it had fewer than 4 held-out instances, or was made before Unlearn Lens audited runs.';
  }
  const side = (m: typeof a.before) => `${pct(m.accuracy)} (median loss: forget ${lossText(m.medianLoss.forget)}, held-out ${lossText(m.medianLoss.heldOut)})`;
  const after = a.after;
  const reading =
    after.accuracy < 0.7
      ? 'Close to chance: by their loss, the forget instances now look like data the model never saw.'
      : after.medianLoss.forget > after.medianLoss.heldOut
        ? "The forget instances now stand out by a loss higher than unseen data's: the forget term overshot (a bounded one, such as nearest-ce, pushes less)."
        : 'The forget instances still stand out by a low loss: they still look memorised.';
  return (
    `Can an attacker who sees only the loss tell the forget instances from unseen data? A logistic regression on per-sample log cross-entropy, ` +
    `${a.after.pairs} forget vs ${a.after.pairs} held-out instances, cross-validated; 50 % means it cannot tell. ` +
    `Before: ${side(a.before)}. After: ${side(after)}. ${reading}${a.after.pairs < 16 ? ` With ${a.after.pairs} pairs this is a rough estimate.` : ''}`
  );
}
