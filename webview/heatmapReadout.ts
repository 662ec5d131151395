/**
 * The heatmaps' readout (src/shared/heatmap.ts): the values of the cell under the pointer (or
 * focus), written into its row's readout line, so that values are readable without tooltips.
 */
const rowValues = new WeakMap<Element, { change?: number[]; importance?: number[] }>();
const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? String(Number(v.toPrecision(3))) : v.toExponential(2));
const readout = (e: Event) => {
  const rect = (e.target as Element).closest?.('svg.strip rect');
  const row = rect?.closest('.unit-row');
  const out = row?.querySelector('.unit-readout');
  if (!rect || !(row instanceof HTMLElement) || !out) return;
  let values = rowValues.get(row);
  if (!values) {
    values = {
      ...(row.dataset.change ? { change: JSON.parse(row.dataset.change) as number[] } : {}),
      ...(row.dataset.importance ? { importance: JSON.parse(row.dataset.importance) as number[] } : {}),
    };
    rowValues.set(row, values);
  }
  const i = Number(rect.getAttribute('data-i'));
  const n = (values.change ?? values.importance ?? []).length;
  const parts = [`${row.dataset.name} · unit ${i} of 0–${n - 1}`];
  if (values.change) parts.push(`change ‖Δθ‖ ${fmt(values.change[i])}`);
  if (values.importance) parts.push(`importance ${fmt(values.importance[i])}`);
  out.textContent = parts.join(' · ');
};

export function installHeatmapReadout(): void {
  document.addEventListener('pointerover', readout);
  document.addEventListener('focusin', readout);
}
