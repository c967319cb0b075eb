// Failures that end a command with one line on stderr and an exit code of their own (the
// documented codes of `commander agent`, say), rather than the generic 1.
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}
