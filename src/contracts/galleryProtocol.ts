/**
 * Messages between the dataset gallery webview (webview/gallery.ts) and the extension host
 * (src/extension/gallery.ts). Types only. An item's key is its file (class folders) or `line:N`
 * (manifests); the selection lives in the webview, across pages and classes.
 */

export interface GalleryThumb {
  key: string;
  /** A webview URI of the image. */
  src: string;
  /** File name (and manifest line). */
  name: string;
  /** The instance's label (class name). */
  label: string;
  /** The active model's prediction (class name); absent until known or when the image cannot be read. */
  predicted?: string;
  /** The active model predicts another class than the label. */
  misclassified?: boolean;
  /** From the active version's chain of run records (src/shared/instanceState.ts). */
  state?: 'forgotten' | 'came-back' | 'remembered' | 'already-misclassified';
  /** The pre-flight estimate, once asked for (selected instances). */
  estimate?: 'typical' | 'memorised';
  /** Hover text: the file, label and prediction, what the runs did, the estimate. */
  title: string;
}

/** Which instances a page shows, beside the class: all, or those in a state. */
export type GalleryFilter = 'all' | 'forgotten' | 'came-back' | 'misclassified';

export interface GalleryPage {
  type: 'page';
  dataset: string;
  classNames: string[];
  /** Instances per class. */
  counts: number[];
  /** The class shown (-1: all). */
  cls: number;
  filter: GalleryFilter;
  /** Instances per filter within the class shown (misclassified: among those with a known prediction). */
  filterCounts: Record<GalleryFilter, number>;
  /** Set when the misclassified filter looked only at the first N instances (large datasets). */
  filterLimit?: number;
  page: number;
  pages: number;
  items: GalleryThumb[];
  /** Held-out or unlabelled manifest rows not shown. */
  skipped: number;
  /** Whether a run is going (the Unlearn button waits). */
  busy: boolean;
}

export type HostToGallery =
  | GalleryPage
  | { type: 'busy'; busy: boolean }
  /** A run with these keys finished (they leave the selection). */
  | { type: 'ran'; keys: string[] }
  /** The pre-flight estimate for the selected keys (null: could not be estimated). */
  | { type: 'estimates'; items: Array<{ key: string; verdict: 'typical' | 'memorised' | null; title: string }>; summary: string };

export type GalleryToHost =
  | { type: 'ready' }
  | { type: 'show'; cls: number; page: number; filter?: GalleryFilter }
  /** The selection changed: estimate these (debounced in the webview). */
  | { type: 'estimate'; keys: string[] }
  | { type: 'unlearn'; keys: string[] }
  | { type: 'reveal'; key: string };
