// The shape of a differential case: a template and the JSON values it renders with (`{}` when
// absent), rendered by Go's engine and by ours and compared byte for byte.
export interface TemplateCase {
  name: string;
  template: string;
  values?: unknown;
}
