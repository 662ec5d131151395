/**
 * Numeric scales for the report's figures: "nice" axis ticks (1, 2 or 5 times a power of ten) and
 * the colour bins of the heatmaps. Pure functions, free of `vscode`, unit-tested.
 */

/** Colour steps of a heatmap scale: bin 0 is "nothing", bins 1..SCALE_BINS cover (0, max] evenly. */
export const SCALE_BINS = 8;

/** The colour bin of `value` on a 0..max scale: 0 for no value (≤ 0, not finite) or no scale, else 1..SCALE_BINS. */
export function binOf(value: number, max: number): number {
  if (!(max > 0) || !(value > 0) || !Number.isFinite(value)) return 0;
  return Math.max(1, Math.min(SCALE_BINS, Math.ceil((SCALE_BINS * value) / max)));
}

/**
 * How strongly bin `b` is coloured: the share (in %) of the figure's colour mixed into the editor's
 * background. Bin 0 gets a faint 6 % so that an empty cell stays visible; the top bin is the pure colour.
 * More is always further from the background, in a light theme and a dark one alike.
 */
export function binStrength(b: number): number {
  if (b <= 0) return 6;
  return Math.round(12 + (88 * Math.min(b, SCALE_BINS)) / SCALE_BINS);
}

/** A step of 1, 2 or 5 times a power of ten, so that about `count` steps cover 0..max. */
export function niceStep(max: number, count = 4): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const raw = max / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/** Ticks 0, step, 2·step, … up to the first at or above `max` (so the axis covers every value). */
export function niceTicks(max: number, count = 4): number[] {
  // No values (or none that are finite): a unit axis.
  if (!(max > 0) || !Number.isFinite(max)) max = 1;
  const step = niceStep(max, count);
  const ticks = [0];
  // Rounded to the step's precision: 0.1 + 0.2 must print as 0.3.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  while (ticks[ticks.length - 1] < max * (1 - 1e-12)) ticks.push(Number((ticks.length * step).toFixed(Math.min(20, digits))));
  return ticks;
}

/** A tick's label: plain digits when they are short, else scientific notation with 2 significant digits. */
export function tickText(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 0.01 && a < 10000) return String(Number(v.toPrecision(3)));
  return v.toExponential(1).replace('e+', 'e');
}
