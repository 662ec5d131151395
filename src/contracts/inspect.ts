/**
 * What the model inspector shows (src/extension/inspector.ts), as the engine worker computes it
 * (src/engine/jobs/inspect.ts). Types only.
 */

/** Summary statistics of one weight tensor's values. */
export interface WeightStats {
  count: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  min: number;
  max: number;
  /** Share of values exactly 0 (0..1). */
  zeros: number;
}

export interface WeightSummary {
  /** The weight's name in the model, e.g. `conv1/kernel`. */
  name: string;
  shape: number[];
  trainable: boolean;
  stats: WeightStats;
}

export interface LayerSummary {
  name: string;
  /** The Keras/TensorFlow.js class, e.g. `Conv2D`. */
  className: string;
  /** Output shape without the batch axis (null: any size); several for layers with several outputs. */
  outputShape: Array<number | null> | Array<Array<number | null>>;
  parameters: number;
  weights: WeightSummary[];
}

export interface ModelSummary {
  file: string;
  /** From model.json, when it says. */
  generatedBy?: string;
  convertedBy?: string;
  inputShape: Array<number | null>;
  outputShape: Array<number | null>;
  parameters: number;
  trainableParameters: number;
  layers: LayerSummary[];
  /** The model against Unlearn Lens's contract (modelContractText), or why it cannot be unlearned. */
  contract: { ok: true; text: string } | { ok: false; problem: string };
  seconds: { load: number; stats: number };
}

export interface ImportanceSummary {
  /** The images, as given. */
  images: string[];
  imageShape: [number, number, number];
  /**
   * Per trainable weight tensor, the images' MAS importance of each output unit (|∂ mean‖f(x)‖₂ / ∂θ|,
   * min–max normalised per tensor as IMP does, averaged over the unit's weights): 0..1.
   */
  tensors: Array<{ name: string; units: number[] }>;
  /** The class the model predicts for each image. */
  predicted: number[];
  seconds: number;
}
