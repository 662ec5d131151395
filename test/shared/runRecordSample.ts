/** A complete run record (version 2, paths absolute as in memory) for tests of the schema and of what reads it. */
import * as path from 'node:path';
import { RUN_RECORD_FORMAT, RUN_RECORD_VERSION, type RunRecord } from '../../src/contracts/runRecord';

export function sampleRunRecord(over: { id?: string; model?: string; result?: string; ids?: string[]; labels?: number[]; after?: number[] } = {}): RunRecord {
  const root = path.resolve('/work-sample');
  const ids = over.ids ?? [path.join(root, 'data', 'train', 'a', '0.png'), path.join(root, 'data', 'train', 'b', '1.png')];
  const labels = over.labels ?? ids.map((_, i) => i % 3);
  return {
    format: RUN_RECORD_FORMAT,
    version: RUN_RECORD_VERSION,
    id: over.id ?? '2026-12-02T10-00-00-000-naive',
    createdAt: '2026-12-02T10:00:00.000Z',
    backend: 'wasm (asked: auto)',
    model: {
      path: over.model ?? path.join(root, 'models', 'm', 'model.json'),
      sha256: 'a'.repeat(64),
      contract: { input: [8, 8, 1], range: [0, 1], classes: 3, output: 'logits', softmaxStripped: false, parameters: 1234, layers: 9 },
    },
    result: { path: over.result ?? path.join(root, 'models', 'm.versions', over.id ?? '2026-12-02T10-00-00-000-naive', 'model.json'), sha256: 'b'.repeat(64) },
    options: { method: 'naive', maxEpochs: 1000, objective: { kind: 'misclassify' }, attack: { epsilon: 4, steps: 100 } },
    forget: { ids, labels, predictedBefore: labels, predictedAfter: over.after ?? labels.map((y) => (y + 1) % 3), classNames: ['a', 'b', 'c'] },
    before: { forget: 1, test: 0.9 },
    after: { forget: 0, test: 0.8 },
    steps: 12,
    epochs: 6,
    seconds: { attack: 0, importance: 0, unlearn: 1.5, total: 2 },
    stopped: 'forgotten',
    guard: { agreement: 0.95, minAgreement: 0.93, probeSize: 512 },
    layerChanges: [{ name: 'conv1/kernel', delta: 0.1, relative: 0.01, units: [0.05, 0.05] }],
  };
}
