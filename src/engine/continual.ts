/**
 * Continual unlearning: each run starts from the active version, so a model may already carry
 * erasures. Before the next run changes it, find them — the forget instances of every run in the
 * model's chain of versions (`run.json` beside a version's `model.json` names the model that run
 * started from) — so the run can check they stay forgotten. Only the file system; no tensors.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export interface EarlierErasure {
  /** The instance's id (its image file) as the run record has it. */
  id: string;
  label: number;
}

interface RecordLink {
  model?: { path?: unknown };
  forget?: { ids?: unknown; labels?: unknown };
}

/** The erasures already applied to `modelPath`, newest run first, each instance once. A model that is not a version has none. */
export async function earlierErasures(modelPath: string): Promise<EarlierErasure[]> {
  const seen = new Set<string>();
  const visited = new Set<string>();
  const out: EarlierErasure[] = [];
  let current = path.resolve(modelPath);
  while (!visited.has(current)) {
    visited.add(current);
    let record: RecordLink;
    try {
      record = JSON.parse(await fs.readFile(path.join(path.dirname(current), 'run.json'), 'utf8')) as RecordLink;
    } catch {
      break; // not a version (or its record is unreadable): the chain ends here
    }
    const f = record.forget;
    if (f && Array.isArray(f.ids) && Array.isArray(f.labels)) {
      f.ids.forEach((id: unknown, i: number) => {
        const label = (f.labels as unknown[])[i];
        if (typeof id !== 'string' || typeof label !== 'number' || seen.has(id)) return;
        seen.add(id);
        out.push({ id, label });
      });
    }
    if (typeof record.model?.path !== 'string') break;
    current = path.resolve(record.model.path);
  }
  return out;
}
