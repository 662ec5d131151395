/**
 * Continual unlearning: each run starts from the active version, so a model may already carry
 * erasures. Before the next run changes it, find them — the forget instances of every run in the
 * model's chain of versions (`run.json` beside a version's `model.json` names the model that run
 * started from) — so the run can check they stay forgotten. Only the file system; no tensors.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseRunLinks, RunRecordError, type RunLinks } from '../../contracts/runRecord';
import { UserInputError } from '../../contracts/errors';

export interface EarlierErasure {
  /** The instance's id (its image file) as the run record has it. */
  id: string;
  label: number;
}

/**
 * The erasures already applied to `modelPath`, newest run first, each instance once. A model that
 * is not a version (no run.json beside it, or another tool's) has none; a run record that is
 * damaged, or from a newer Unlearn Lens, is refused with a message naming it, since the chain behind
 * it cannot be known.
 */
export async function earlierErasures(modelPath: string): Promise<EarlierErasure[]> {
  const seen = new Set<string>();
  const visited = new Set<string>();
  const out: EarlierErasure[] = [];
  let current = path.resolve(modelPath);
  while (!visited.has(current)) {
    visited.add(current);
    const file = path.join(path.dirname(current), 'run.json');
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      break; // not a version: the chain ends here
    }
    let record: RunLinks;
    try {
      record = parseRunLinks(text, file);
    } catch (e) {
      // Another tool's run.json beside a model is not a version; one of ours that is damaged or newer is refused.
      if (e instanceof RunRecordError && e.problem === 'not-a-record') break;
      throw e instanceof RunRecordError ? new UserInputError(e.message, e.file) : e;
    }
    record.forget.ids.forEach((id, i) => {
      if (seen.has(id)) return;
      seen.add(id);
      out.push({ id, label: record.forget.labels[i] });
    });
    current = record.model;
  }
  return out;
}
