/**
 * One method of an experiment, as a task a worker thread can run: its own backend, its own copy of
 * the pre-trained model, the shared forget set, adversarial set and guard probe; it unlearns and
 * measures forget / retain / test accuracy after. The same code runs in process when the
 * experiment is not parallel, so both paths compute the same thing (see experiment.ts).
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import type { Accuracies } from '../core/metrics';
import { modelFromArtifacts } from '../data/modelIo';
import type { AdversarialSet } from '../core/attack';
import { unlearn, type ForgetSet, type UnlearnResult } from '../core/unlearn';
import type { UnlearnProgress } from '../../contracts/protocol';
import type { UnlearnOptions } from '../../contracts/options';
import { throwIfAborted } from '../../contracts/errors';
import { auditModel, type MembershipAudit } from '../core/audit';
import { readModel, type ModelReading } from './yardstick';
import type { UnseenReference } from '../core/unseen';

export interface MethodTaskInput {
  artifacts: tfTypes.io.ModelArtifacts;
  modelFile?: string;
  forget: ForgetSet;
  /** The forget, retain-subset and test data, for the accuracies after. */
  evaluate: { forget: Dataset; retain: Dataset; test: Dataset; heldOut?: Dataset };
  adversarial?: AdversarialSet;
  probe: Float32Array;
  options: UnlearnOptions;
  /** The oracle method's remaining training data. */
  retainTrain?: { images: Float32Array; labels: Int32Array };
  /** "As if never seen": data that sharpens the target losses. */
  unseenReference?: UnseenReference;
}

export interface MethodTaskResult {
  result: Omit<UnlearnResult, 'adversarial'>;
  after: Accuracies;
  /** The membership audit after (with `evaluate.heldOut`). */
  audit?: MembershipAudit;
  /** Predictions and membership AUC after, for the gap to a retrained model. */
  reading: ModelReading;
}

export async function runMethodTask(
  input: MethodTaskInput,
  signal?: AbortSignal,
  onProgress?: (p: UnlearnProgress | { phase: 'evaluate' }) => void,
): Promise<MethodTaskResult> {
  const model = await modelFromArtifacts(input.artifacts, input.modelFile);
  try {
    const result = await unlearn(model, input.forget, input.options, {
      signal,
      adversarial: input.adversarial,
      probe: input.probe,
      retain: input.retainTrain,
      unseenReference: input.unseenReference,
      onProgress,
    });
    onProgress?.({ phase: 'evaluate' });
    throwIfAborted(signal);
    const reading = await readModel(model, input.evaluate.forget, input.evaluate.retain, input.evaluate.test);
    const after: Accuracies = { forget: reading.forget, retain: reading.retain, test: reading.test };
    const heldOut = input.evaluate.heldOut;
    const audit = heldOut ? await auditModel(model, input.evaluate.forget, heldOut, input.options.seed) : undefined;
    const { adversarial: _unused, ...rest } = result;
    return { result: rest, after, reading, ...(audit ? { audit } : {}) };
  } finally {
    model.dispose();
  }
}
