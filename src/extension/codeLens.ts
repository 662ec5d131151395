/**
 * Above each line of training code that loads or saves the model — `tf.loadLayersModel(`,
 * `model.save(`, Keras `load_model(` — a lens says what the active version has been through:
 * "N erasures applied — test a % → b % · Open report".
 */
import * as vscode from 'vscode';
import type { ModelStore } from './models';

export const MODEL_IO_PATTERN = /\btf\.loadLayersModel\(|\bmodel\.save\(|\bload_model\(/;

export const TRAINING_CODE_SELECTOR: vscode.DocumentSelector = [
  { language: 'javascript' },
  { language: 'typescript' },
  { language: 'javascriptreact' },
  { language: 'typescriptreact' },
  { language: 'python' },
];

const pct = (x: number | undefined): string => (x === undefined ? '?' : `${(100 * x).toFixed(1)} %`);

export class ErasureCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly models: ModelStore) {
    this.subscription = models.onDidChange(() => this.changed.fire());
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const lines: number[] = [];
    for (let i = 0; i < doc.lineCount; i++) if (MODEL_IO_PATTERN.test(doc.lineAt(i).text)) lines.push(i);
    if (lines.length === 0) return [];
    const model = await this.models.activeModel();
    const lineage = model ? await this.models.lineage(model) : [];
    const first = lineage[0]?.record;
    const last = lineage[lineage.length - 1];
    const title =
      lineage.length === 0
        ? 'Unlearn Lens: no erasures applied to the active model'
        : `${lineage.length} erasure${lineage.length === 1 ? '' : 's'} applied — test ${pct(first?.before.test)} → ${pct(last.record.after.test)}`;
    return lines.flatMap((line) => {
      const range = doc.lineAt(line).range;
      const lenses = [new vscode.CodeLens(range, { title, command: lineage.length ? 'unlearnLens.openReport' : 'unlearnLens.selectModel', arguments: last ? [last.id] : [] })];
      if (last) lenses.push(new vscode.CodeLens(range, { title: 'Open report', command: 'unlearnLens.openReport', arguments: [last.id] }));
      return lenses;
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
