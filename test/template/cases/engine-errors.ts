// Execution errors, each of which Go reports with the template's line and column, and the
// positions of those errors deep inside a template.
import type { TemplateCase } from './case.js';

export const cases: TemplateCase[] = [
  { name: 'error on a later line', template: 'line 1\nline 2 {{ .a.b }}\n', values: { a: 'x' } },
  {
    name: 'error inside a range',
    template: '{{ range .l }}\n  {{ .x.y }}\n{{ end }}',
    values: { l: [{ x: 1 }] },
  },
  {
    name: 'error inside a defined template',
    template: '{{ define "t" }}\n\n{{ index . 5 }}{{ end }}{{ template "t" .l }}',
    values: { l: [1] },
  },
  { name: 'error in if condition', template: '{{ if eq .a 1 }}x{{ end }}', values: { a: 1 } },
  { name: 'error in with', template: '{{ with index .l 9 }}{{ . }}{{ end }}', values: { l: [] } },
  { name: 'error after output', template: 'some output {{ len 3 }}' },
  { name: 'parse error on third line', template: 'a\nb\n{{ if }}' },
  { name: 'parse error inside define', template: '{{ define "x" }}\n{{ .a | 1 }}\n{{ end }}' },
  { name: 'unexpected EOF inside define', template: '{{ define "x" }}text' },
  { name: 'unclosed action spanning lines', template: '{{ if\n\n' },
  { name: 'unclosed paren across lines', template: '{{ (print\n1 }}' },
  {
    name: 'error message with percent in template name context',
    template: '{{ printf "%d%%" .a.b }}',
    values: { a: 3 },
  },
  {
    name: 'nil pointer on null map value',
    template: '{{ $x := .n }}{{ $x.y }}|{{ .n.y }}',
    values: { n: null },
  },
  { name: 'wrong arg count for printf', template: '{{ printf }}' },
  { name: 'wrong arg count through pipeline', template: '{{ 1 | len 2 }}' },
  { name: 'error inside and', template: '{{ and 1 (len 5) }}' },
  {
    name: 'error in template argument',
    template: '{{ define "t" }}{{ . }}{{ end }}{{ template "t" (len 1) }}',
  },
  {
    name: 'error in else branch',
    template: '{{ if false }}{{ else }}\n{{ .x.y.z }}{{ end }}',
    values: { x: { y: 'str' } },
  },
  {
    name: 'error inside parenthesised argument',
    template: '{{ print (index .m "a" "b") }}',
    values: { m: { a: 'str' } },
  },
  { name: 'error in variable assignment', template: '{{ $x := 1 }}{{ $x = len 1 }}' },
  { name: 'undefined variable in nested template scope', template: '{{ define "t" }}{{ $v }}{{ end }}' },
  {
    name: 'range over a map value that is a number',
    template: '{{ range .m.k }}{{ end }}',
    values: { m: { k: 1 } },
  },
  {
    name: 'with on a map ok then error',
    template: '{{ with .m }}{{ .k }}{{ .k.z }}{{ end }}',
    values: { m: { k: 'v' } },
  },
  { name: 'unicode before the error column', template: 'héllo wörld {{ .a.b }}', values: { a: 1 } },
  { name: 'error after a multi-line raw string', template: '{{ `a\nb\nc` }}{{ len 1 }}' },
  { name: 'error after a comment spanning lines', template: '{{/* a\nb */}}\n{{ len 1 }}' },
  { name: 'error after trimmed newlines', template: 'a\n\n{{- len 1 }}' },
  {
    name: 'multiple definition on a later line',
    template: '{{ define "a" }}x{{ end }}\n\n{{ define "a" }}y{{ end }}',
  },
];
