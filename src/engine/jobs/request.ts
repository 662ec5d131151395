/**
 * One erasure request, end to end: load the model, forget the instances, measure, and save the
 * result as a new model version with its run record. The original model and the data are only
 * read. Nothing is written until the run has finished; a cancelled run writes nothing.
 *
 * Layout: <model folder>.versions/<run id>/{model.json, weights.bin, run.json}
 */
import * as path from 'node:path';
import * as fs from 'node:fs/promises';
import { artifactsToSave, captureArtifacts, hashArtifacts, loadModel, saveModelAtomically } from '../data/modelIo';
import { RUN_RECORD_FORMAT, RUN_RECORD_VERSION, RunRecordError, serializeRunRecord, versionsDirFor, type SplitAccuracy } from '../../contracts/runRecord';
import { unlearn, type ForgetSet } from '../core/unlearn';
import type { AdversarialPreview, GuardAnswer, GuardTrip, RunRecord, UnlearnProgress } from '../../contracts/protocol';
import { resolveOptions, type Preset, type UnlearnOptionsInput } from '../../contracts/options';
import { accuracy } from '../core/metrics';
import { nearestOtherClasses, predictClasses } from '../core/modelState';
import { NothingToForgetError, throwIfAborted, UserInputError } from '../../contracts/errors';
import type { Dataset } from '../data/dataset';
import { activeBackend } from '../runtime/backend';
import { parallelTargetedL2Pgd, resolveWorkers } from '../runtime/attackPool';
import { trainOnThreads } from '../runtime/kernels/convHelper';
import { attackSuccess, type AdversarialSet } from '../core/attack';
import { unseenTargets } from '../core/unseen';
import { auditHeldOut, auditModel } from '../core/audit';
import { pct } from '../../shared/percent';

export interface UnlearnRequest {
  modelPath: string;
  forget: ForgetSet;
  /** How each forget instance is known to the user (file path, manifest line, dataset index). */
  forgetIds: string[];
  /** The model's class names, for the run record, when no retain or test set carries them. */
  classNames?: string[];
  /** Optional data to measure collateral damage on. */
  retain?: Dataset;
  test?: Dataset;
  options?: UnlearnOptionsInput;
  preset?: Preset;
  /** Images the guard watches besides the adversarial examples (default: up to 512 of `retain`, else of `test`). */
  probe?: Float32Array;
  /** Where versions go; default `<model folder>.versions`. */
  versionsDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: UnlearnProgress | { phase: 'evaluate' | 'save' }) => void;
  /** With guard action `ask`: the answer to a tripped guard (none: stop and roll back). */
  onGuardTrip?: (trip: GuardTrip) => Promise<GuardAnswer>;
  /**
   * Relabel instead of misclassify (overrides `options.objective`): the new class of each instance,
   * or `nearest`: the class the model being unlearned ranks next for it.
   */
  relabel?: number[] | 'nearest';
  /** Continual: instances earlier runs in the model's chain erased, to check they stay forgotten. */
  earlier?: EarlierInstances;
  /** Something the user should know that does not stop the run (e.g. accuracy that suggests a wrong class order). */
  onWarning?: (message: string) => void;
  /** Said when there is nothing to forget or the accuracy is suspicious: how the class order was decided. */
  classOrderHint?: string;
}

export interface EarlierInstances {
  ids: string[];
  images: Float32Array;
  labels: Int32Array;
  /** Earlier erasures whose image could not be read any more (deleted, moved): not checked. */
  missing: number;
}

export type { SplitAccuracy } from '../../contracts/runRecord';

/** Every adversarial example beside the forget instance it came from, by instance (pixels as 0..255 bytes). */
export function adversarialPreview(forget: ForgetSet, set: AdversarialSet): AdversarialPreview {
  const [h, w, c] = forget.imageShape;
  const size = h * w * c;
  const bytes = (a: Float32Array) => Uint8Array.from(a, (v) => Math.round(255 * Math.min(1, Math.max(0, v))));
  const order = Array.from(set.sources.keys()).sort((a, b) => set.sources[a] - set.sources[b] || a - b);
  const examples: AdversarialPreview['examples'] = order.map((j) => {
    const instance = set.sources[j];
    const original = forget.images.subarray(instance * size, (instance + 1) * size);
    const adversarial = set.images.subarray(j * size, (j + 1) * size);
    let l2 = 0;
    for (let p = 0; p < size; p++) l2 += (adversarial[p] - original[p]) ** 2;
    return { instance, target: set.targets[j], predicted: set.predicted[j], l2: Math.sqrt(l2), original: bytes(original), adversarial: bytes(adversarial) };
  });
  return { imageShape: [h, w, c], examples };
}

function continualRecord(e: EarlierInstances, before: Int32Array, after: Int32Array): NonNullable<RunRecord['earlier']> {
  let rememberedBefore = 0;
  let rememberedAfter = 0;
  const cameBack: string[] = [];
  const forgottenAgain: string[] = [];
  e.ids.forEach((id, i) => {
    const was = before[i] === e.labels[i];
    const is = after[i] === e.labels[i];
    if (was) rememberedBefore++;
    if (is) rememberedAfter++;
    if (is && !was) cameBack.push(id);
    if (was && !is) forgottenAgain.push(id);
  });
  return { instances: e.ids.length, missing: e.missing, rememberedBefore, rememberedAfter, cameBack, forgottenAgain };
}

export function runId(method: string, date = new Date()): string {
  return `${date.toISOString().replace(/[:.]/g, '-').replace('Z', '')}-${method.replace('+', '-')}`;
}

async function measure(model: Parameters<typeof accuracy>[0], forget: ForgetSet, retain?: Dataset, test?: Dataset): Promise<SplitAccuracy> {
  return {
    forget: await accuracy(model, forget.images, forget.labels, forget.imageShape),
    ...(retain ? { retain: await accuracy(model, retain.images, retain.labels, retain.imageShape) } : {}),
    ...(test ? { test: await accuracy(model, test.images, test.labels, test.imageShape) } : {}),
  };
}

export async function runUnlearnRequest(req: UnlearnRequest): Promise<RunRecord> {
  if (req.forgetIds.length !== req.forget.labels.length)
    throw new UserInputError(`forgetIds (${req.forgetIds.length}) and forget instances (${req.forget.labels.length}) differ in number.`);
  const loaded = await loadModel(req.modelPath);
  const model = loaded.model;
  try {
    const inputShape = model.inputs[0].shape.slice(1);
    if (inputShape.length !== 3 || !inputShape.every((d, i) => d === null || d === req.forget.imageShape[i])) {
      throw new UserInputError(
        `The model ${loaded.file} takes images of ${inputShape.join('x')} but the selected images are ${req.forget.imageShape.join('x')}. Resize them, or ` +
          `choose the model they belong to.`,
        loaded.file,
      );
    }
    const outputs = model.outputs[0].shape[1];
    if (outputs !== req.forget.numClasses) {
      throw new UserInputError(
        `The model ${loaded.file} has ${outputs} outputs but the data has ${req.forget.numClasses} classes. Choose the dataset the model was trained on.`,
        loaded.file,
      );
    }
    // The one place a request's options are resolved: "nearest" needs the loaded model.
    const labels = req.relabel === 'nearest' ? await nearestOtherClasses(model, req.forget.images, req.forget.labels, req.forget.imageShape) : req.relabel;
    const options = resolveOptions(labels ? { ...req.options, objective: { kind: 'relabel', labels } } : req.options, req.preset);
    req.onProgress?.({ phase: 'evaluate' });
    const predictedBefore = await predictClasses(model, req.forget.images, req.forget.imageShape);
    if (options.objective.kind === 'misclassify' && predictedBefore.every((p, i) => p !== req.forget.labels[i])) {
      throw new NothingToForgetError(req.forget.labels.length, req.classOrderHint);
    }
    const before = await measure(model, req.forget, req.retain, req.test);
    // Far below what a trained model gets: most likely the classes are numbered in another order than the model's.
    const chance = 1 / req.forget.numClasses;
    if (req.test && before.test !== undefined && req.test.labels.length >= 2 * req.forget.numClasses && before.test < Math.min(2 * chance, 0.5)) {
      req.onWarning?.(
        `the model gets only ${pct(before.test)} of the test data right (chance: ${pct(chance)}). The class order probably does not match the ` +
          `model's.${req.classOrderHint ? ` ${req.classOrderHint}` : ''}`,
      );
    }
    // The cost, told before the run: would a model trained without these instances still get them right?
    if (options.objective.kind !== 'unseen') {
      const estimate = await unseenTargets(model, req.forget, { members: req.retain, heldOut: req.test });
      const typical = estimate.instances.filter((e) => e.verdict === 'typical').length;
      if (typical > estimate.instances.length / 2) {
        req.onWarning?.(
          `${typical} of ${estimate.instances.length} selected instances look typical (estimated from ${estimate.heldOutSource}): a model trained without ` +
            `them would most likely still classify them correctly, ` +
            `so forcing them to be ${options.objective.kind === 'relabel' ? 'relabelled' : 'misclassified'} will likely cost accuracy on similar images. To ` +
            `remove what the model learned from them as retraining would, use the objective "as if never seen" (--objective unseen, or the setting ` +
            `unlearnLens.objective).`,
        );
      }
    }
    if (options.anchor && options.objective.kind !== 'unseen' && !(req.retain ?? req.test)?.labels.length) {
      req.onWarning?.(
        "the anchored preset keeps the model's predictions on other images of the dataset, but this run has none (no training or test data beside the " +
          'selected images), so it runs as the next-class push alone. Point it at the dataset the images belong to, or add held-out data, to keep the ' +
          'rest of the model.',
      );
    }
    // The audit's held-out side: a seeded sample of the test data, as many as there are forget instances.
    const heldOut = auditHeldOut(req.test, req.forget.labels.length, options.seed);
    const audit = async () => (heldOut ? auditModel(model, req.forget, heldOut, options.seed) : undefined);
    const auditBefore = await audit();
    // Continual: predictions on the instances earlier runs erased (none readable: empty).
    const earlierPredictions = () => predictClasses(model, req.earlier?.images ?? new Float32Array(0), req.forget.imageShape);
    const earlierBefore = await earlierPredictions();
    const probeSource = req.retain ?? req.test;
    const probe =
      req.probe ?? probeSource?.images.subarray(0, (Math.min(512, probeSource.labels.length) * req.forget.images.length) / req.forget.labels.length);
    // "As if never seen": the held-out data sets the target losses, the other training data (else the held-out data) is the anchor.
    const unseenReference =
      options.objective.kind === 'unseen' || options.anchor ? { members: req.retain, heldOut: req.test, anchor: req.retain ?? req.test } : undefined;
    trainOnThreads(resolveWorkers(options.attack.workers));
    const result = await unlearn(model, req.forget, options, {
      signal: req.signal,
      onProgress: req.onProgress,
      probe,
      onGuardTrip: req.onGuardTrip,
      attack: parallelTargetedL2Pgd,
      ...(unseenReference ? { unseenReference } : {}),
    });
    req.onProgress?.({ phase: 'evaluate' });
    const predictedAfter = await predictClasses(model, req.forget.images, req.forget.imageShape);
    const after = await measure(model, req.forget, req.retain, req.test);
    const auditAfter = await audit();
    const earlierAfter = await earlierPredictions();
    throwIfAborted(req.signal);
    req.onProgress?.({ phase: 'save' });
    // A model that ended in softmax is saved with it (the engine ran it on logits).
    const artifacts = artifactsToSave(await captureArtifacts(model), loaded);
    const id = runId(options.method);
    const versionDir = path.join(req.versionsDir ?? versionsDirFor(loaded.file), id);
    await fs.mkdir(path.dirname(versionDir), { recursive: true });
    const record: RunRecord = {
      format: RUN_RECORD_FORMAT,
      version: RUN_RECORD_VERSION,
      id,
      createdAt: new Date().toISOString(),
      backend: activeBackend()?.description ?? 'unknown',
      model: { path: loaded.file, sha256: loaded.sha256, ...(loaded.contract ? { contract: loaded.contract } : {}) },
      result: { path: path.join(versionDir, 'model.json'), sha256: hashArtifacts(artifacts) },
      options,
      forget: {
        ids: req.forgetIds,
        labels: Array.from(req.forget.labels),
        predictedBefore: Array.from(predictedBefore),
        predictedAfter: Array.from(predictedAfter),
        classNames: req.classNames ?? req.retain?.classNames ?? req.test?.classNames,
      },
      before,
      after,
      steps: result.steps,
      epochs: result.epochs,
      seconds: result.seconds,
      stopped: result.stopped,
      guard: result.guard,
      layerChanges: result.layerChanges,
      ...(req.earlier ? { earlier: continualRecord(req.earlier, earlierBefore, earlierAfter) } : {}),
      ...(auditBefore && auditAfter ? { audit: { before: auditBefore, after: auditAfter } } : {}),
      ...(result.adversarial ? { adversarial: { examples: result.adversarial.targets.length, reachedTarget: attackSuccess(result.adversarial) } } : {}),
    };
    let runJson: string;
    try {
      runJson = serializeRunRecord(record, versionDir);
    } catch (e) {
      throw e instanceof RunRecordError ? new UserInputError(e.message, e.file) : e;
    }
    await saveModelAtomically(artifacts, versionDir, { 'run.json': runJson }, { signal: req.signal });
    return result.adversarial ? { ...record, preview: adversarialPreview(req.forget, result.adversarial) } : record;
  } finally {
    model.dispose();
  }
}
