/**
 * The one-line summary shown after an unlearning run (the notification), built from its run
 * record. Kept free of `vscode` so that every wording — forgotten, capped, diverged, guard stopped
 * and rolled back, guard warning — is unit-tested.
 */
import type { RunRecord } from '../engine/request';

type SummaryInput = Pick<RunRecord, 'id' | 'steps' | 'stopped' | 'guard' | 'forget'> & { options: Pick<RunRecord['options'], 'maxEpochs'> };

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

export function runSummary(record: SummaryInput): string {
  const forgotten = record.forget.predictedAfter.filter((p, i) => p !== record.forget.labels[i]).length;
  const stopNote =
    record.stopped === 'max-epochs'
      ? ` The run hit the cap of ${record.options.maxEpochs} epochs.`
      : record.stopped === 'diverged'
        ? ' The run diverged (the loss stopped being a finite number); the last finite step was kept.'
        : '';
  const tripped = record.guard.tripped;
  const guard = !tripped
    ? ''
    : tripped.action === 'stop'
      ? ` The guard stopped it at step ${tripped.step} (agreement with the original model ${pct(tripped.agreement)})${tripped.rolledBackToStep !== undefined ? ` and rolled back to step ${tripped.rolledBackToStep}` : ''}.`
      : ` Warning: the guard saw agreement with the original model fall to ${pct(record.guard.minAgreement)} (collateral damage; see the report).`;
  return `Unlearn: ${forgotten} of ${record.forget.ids.length} forgotten in ${record.steps} steps.${stopNote}${guard} Saved as version ${record.id}.`;
}
