// The template language: Go's text/template with sprig's functions. Public entry points.
// (Stub: the engine's branch implements it.)

/** A parse or execution error, with where in the template it happened (1-based). */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

/**
 * Renders `text` as Go's text/template with sprig, `.` being `data` (a decoded JSON value, so
 * numbers are float64 as in Go). Returns exactly what Go prints; throws TemplateError.
 */
export function renderTemplate(_text: string, _data: unknown, _options: { name?: string } = {}): string {
  throw new TemplateError('template engine not implemented yet', 1, 1);
}
