/**
 * Errors a user can act on: each names the file (or setting) at fault and says what to do.
 * The CLI prints `message` alone; the extension shows it with an action to open `file`.
 */
export class UserInputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'UserInputError';
  }
}

export class CancelledError extends Error {
  constructor(message = 'The run was cancelled; nothing was written.') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * The model already misclassifies every selected instance: there is nothing to forget, and no
 * version is saved (an identical copy would only mislead). Not a failure: the CLI exits 0.
 */
export class NothingToForgetError extends Error {
  constructor(
    readonly count: number,
    hint = '',
  ) {
    super(
      `Nothing to forget: the model already misclassifies all ${count} selected instance${count === 1 ? '' : 's'}, so no version was ` +
        `saved.${hint ? ` ${hint}` : ''}`,
    );
    this.name = 'NothingToForgetError';
  }
}
