/**
 * Pages of a long list (the report's adversarial examples): which items one page holds and how the
 * pager describes it. Pure, unit-tested.
 */
export interface Page<T> {
  items: T[];
  /** 0-based page shown (clamped into range). */
  page: number;
  /** Number of pages (at least 1, also for an empty list). */
  pages: number;
  /** 0-based index of the first item on the page, and one past the last. */
  from: number;
  to: number;
  total: number;
}

export function pageOf<T>(items: readonly T[], page: number, size: number): Page<T> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`page size must be a positive integer, got ${size}`);
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Number.isFinite(page) ? Math.max(0, Math.min(pages - 1, Math.floor(page))) : 0;
  const from = Math.min(items.length, p * size);
  const to = Math.min(items.length, from + size);
  return { items: items.slice(from, to), page: p, pages, from, to, total: items.length };
}

/** "examples 13–24 of 40 (page 2 of 4)"; "no examples" for an empty list. */
export function pageText(p: Page<unknown>, noun = 'examples'): string {
  if (p.total === 0) return `no ${noun}`;
  return `${noun} ${p.from + 1}–${p.to} of ${p.total} (page ${p.page + 1} of ${p.pages})`;
}
