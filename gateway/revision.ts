// The optimistic lock of whole-object PUTs: the request carries the current_revision it read.
import { CommanderError } from '../shared/errors.js';

export function checkRevision(what: string, stored: number, given: number): void {
  if (stored !== given) {
    throw new CommanderError(
      'REVISION_CONFLICT',
      `revision_conflict: the ${what} is at revision ${stored}, the request carried ${given}; read it again and retry`,
    );
  }
}
