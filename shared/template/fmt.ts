// Go's fmt for template values: what Sprint, Sprintf and Sprintln print, and %T / reflect.Kind names.
// (Stub: the engine's branch implements it.)
import type { Value } from './value.js';

/** fmt.Sprint: operands printed with %v, a space between operands when neither is a string. */
export function sprint(..._args: Value[]): string {
  throw new Error('fmt.sprint: not implemented yet');
}

/** fmt.Sprintf with Go's verbs, flags, width and precision (and Go's %!verb(type=value) for mismatches). */
export function sprintf(_format: string, ..._args: Value[]): string {
  throw new Error('fmt.sprintf: not implemented yet');
}

/** fmt.Sprintln: operands printed with %v, always space-separated, with a trailing newline. */
export function sprintln(..._args: Value[]): string {
  throw new Error('fmt.sprintln: not implemented yet');
}

/** What %T prints: "float64", "[]interface {}", "map[string]interface {}", "<nil>", … */
export function typeName(_value: Value): string {
  throw new Error('fmt.typeName: not implemented yet');
}

/** reflect.Kind's name: "float64", "slice", "map", "string", "ptr", "struct", "invalid", … */
export function kindName(_value: Value): string {
  throw new Error('fmt.kindName: not implemented yet');
}
