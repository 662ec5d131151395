/**
 * Small images for the report, built in the extension host: pixels as PNG data URIs (the report's
 * CSP allows data: images and nothing else from outside), and a perturbation made visible.
 */
import { PNG } from 'pngjs';

/** Pixels (0..255, h*w*c with c = 1 or 3) as a PNG data URI. */
export function pngDataUri(pixels: ArrayLike<number>, [h, w, c]: readonly [number, number, number]): string {
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < h * w; p++) {
    for (let ch = 0; ch < 3; ch++) png.data[4 * p + ch] = pixels[p * c + (c === 1 ? 0 : ch)];
    png.data[4 * p + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** |adversarial - original|, scaled so that the largest change is white. */
export function perturbation(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const d = Array.from(a, (v, i) => Math.abs(v - b[i]));
  const max = Math.max(1, ...d);
  return d.map((v) => Math.round((255 * v) / max));
}
