/**
 * The active model's predictions and the pre-flight estimates the views show, asked of the engine
 * worker (never computed on this thread) and kept per model file until the active version or the
 * model's files change.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import type { ModelStore } from './models';
import { backendRequest, resizeMode } from './settings';
import type { LabelledFile } from '../contracts/protocol';

export interface Estimate {
  verdict: 'typical' | 'memorised';
  /** Estimated chance that a model trained without the instance still classifies it correctly. */
  stillCorrect: number;
  /** Where the held-out side of the estimate came from. */
  source: string;
}

/** The words the views use for an estimate. */
export function estimateText(e: Estimate): string {
  const chance = `${Math.round(100 * e.stillCorrect)} %`;
  return e.verdict === 'typical'
    ? `pre-flight: typical — a model trained without it would still classify it correctly (estimated ${chance}), so making it misclassified will cost ` +
        `accuracy on similar images; "as if never seen" is the objective that matches retraining`
    : `pre-flight: memorised — a model trained without it would probably not classify it correctly (estimated ${chance} that it would), so forgetting it is ` +
        `what retraining would do`;
}

const key = (file: string) => path.resolve(file);

export class ModelInspector implements vscode.Disposable {
  /** Cached answers belong to this model file (and its modification time). */
  private modelKey = '';
  private readonly predictions = new Map<string, number | null>();
  private readonly estimates = new Map<string, Estimate | null>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly engine: EngineClient,
    private readonly models: ModelStore,
    private readonly testData: () => Promise<string | undefined>,
  ) {
    this.subscription = models.onDidChange(() => this.clear());
  }

  private clear(): void {
    this.predictions.clear();
    this.estimates.clear();
    this.predicting.clear();
    this.estimating.clear();
    this.modelKey = '';
  }

  /** The model file the views describe (the active version, else the original); undefined without a model. */
  async activeModelFile(): Promise<string | undefined> {
    const model = await this.models.activeModel();
    return model ? this.models.startingPoint(model) : undefined;
  }

  private async current(): Promise<string | undefined> {
    const file = await this.activeModelFile();
    if (!file) return undefined;
    const mtime = await fs.stat(file).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    const k = `${file}|${mtime}`;
    if (k !== this.modelKey) {
      this.clear();
      this.modelKey = k;
    }
    return file;
  }

  /** Engine calls on their way, by file: a view that asks again while one is going waits for it instead of asking twice. */
  private readonly predicting = new Map<string, Promise<unknown>>();
  private readonly estimating = new Map<string, Promise<unknown>>();

  /** The active model's prediction per file (by instanceKey); null where an image could not be read. */
  async predict(files: readonly string[]): Promise<Map<string, number | null>> {
    const model = await this.current();
    const out = new Map<string, number | null>();
    if (!model) return out;
    const wanted = [...new Set(files.map(key))];
    const missing = wanted.filter((f) => !this.predictions.has(f) && !this.predicting.has(f));
    // In pages, so a large filter never sends one huge request.
    for (let start = 0; start < missing.length; start += 500) {
      const chunk = missing.slice(start, start + 500);
      const modelKey = this.modelKey;
      const call = this.engine
        .call({ kind: 'predict', backend: backendRequest(), modelPath: model, files: chunk, resize: resizeMode() })
        .result.then(({ predictions }) => {
          if (this.modelKey === modelKey) chunk.forEach((f, i) => this.predictions.set(f, predictions[i]));
        })
        .finally(() => chunk.forEach((f) => this.predicting.delete(f)));
      chunk.forEach((f) => this.predicting.set(f, call));
    }
    await Promise.all([...new Set(wanted.map((f) => this.predicting.get(f)).filter((p) => p !== undefined))]);
    for (const f of wanted) out.set(f, this.predictions.get(f) ?? null);
    return out;
  }

  /** Predictions already known (no engine call). */
  known(file: string): number | null | undefined {
    return this.predictions.get(key(file));
  }

  /** The pre-flight estimate per instance (by instanceKey), on the active model; `members`: other training images of the dataset. */
  async preflight(instances: readonly LabelledFile[], members: readonly LabelledFile[] = []): Promise<Map<string, Estimate | null>> {
    const model = await this.current();
    const out = new Map<string, Estimate | null>();
    if (!model) return out;
    const testData = await this.testData();
    const missing = instances.filter((i) => !this.estimates.has(key(i.file)) && !this.estimating.has(key(i.file)));
    if (missing.length) {
      const modelKey = this.modelKey;
      const call = this.engine
        .call({
          kind: 'preflight',
          backend: backendRequest(),
          modelPath: model,
          instances: missing,
          members: [...members],
          ...(testData ? { testData } : {}),
          resize: resizeMode(),
        })
        .result.then((result) => {
          if (this.modelKey !== modelKey) return;
          result.instances.forEach((e, i) =>
            this.estimates.set(
              key(missing[i].file),
              e.verdict && e.stillCorrect !== null ? { verdict: e.verdict, stillCorrect: e.stillCorrect, source: result.heldOutSource } : null,
            ),
          );
        })
        .finally(() => missing.forEach((i) => this.estimating.delete(key(i.file))));
      missing.forEach((i) => this.estimating.set(key(i.file), call));
    }
    await Promise.all([...new Set(instances.map((i) => this.estimating.get(key(i.file))).filter((p) => p !== undefined))]);
    for (const i of instances) out.set(key(i.file), this.estimates.get(key(i.file)) ?? null);
    return out;
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
