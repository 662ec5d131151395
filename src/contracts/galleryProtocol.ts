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
  /** From the runs of the active model's lineage: forgotten by the last run that included it, or still remembered after it. */
  state?: 'forgotten' | 'remembered';
  /** Hover text: the file and, when a run touched it, what that run did. */
  title: string;
}

export interface GalleryPage {
  type: 'page';
  dataset: string;
  classNames: string[];
  /** Instances per class. */
  counts: number[];
  /** The class shown (-1: all). */
  cls: number;
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
  | { type: 'ran'; keys: string[] };

export type GalleryToHost =
  | { type: 'ready' }
  | { type: 'show'; cls: number; page: number }
  | { type: 'unlearn'; keys: string[] }
  | { type: 'reveal'; key: string };
