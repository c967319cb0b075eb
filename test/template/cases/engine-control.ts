// Actions and variables: if / else if / else, with, range over lists and maps with break and
// continue, define / template / block, and Go's scoping of $variables.
import type { TemplateCase } from './case.js';

const hosts = {
  hosts: [
    { name: 'master-0', ip: '10.0.0.1', roles: ['master'] },
    { name: 'worker-0', ip: '10.0.0.2', roles: [] },
    { name: 'worker-1', ip: '10.0.0.3', roles: ['worker', 'ingress'] },
  ],
};

export const cases: TemplateCase[] = [
  { name: 'if true', template: '{{ if true }}yes{{ end }}' },
  { name: 'if false', template: '{{ if false }}yes{{ end }}|' },
  { name: 'if else', template: '{{ if .a }}A{{ else }}B{{ end }}', values: { a: false } },
  {
    name: 'if else if chain',
    template: '{{ if .a }}A{{ else if .b }}B{{ else if .c }}C{{ else }}D{{ end }}',
    values: { c: 's' },
  },
  { name: 'if else if falls through', template: '{{ if .a }}A{{ else if .b }}B{{ end }}.', values: {} },
  {
    name: 'truthiness of values',
    template: '{{ range $k, $v := . }}{{ $k }}:{{ if $v }}T{{ else }}F{{ end }} {{ end }}',
    values: {
      zero: 0,
      one: 1,
      neg: -1,
      empty: '',
      str: 'x',
      emptyList: [],
      list: [0],
      emptyMap: {},
      map: { a: null },
      nul: null,
      f: false,
      t: true,
      half: 0.5,
    },
  },
  { name: 'if on missing key', template: '{{ if .nope }}yes{{ else }}no{{ end }}' },
  { name: 'if on nested missing', template: '{{ if .a.b.c }}yes{{ else }}no{{ end }}', values: { a: {} } },
  {
    name: 'if with int constants',
    template: '{{ if 0 }}a{{ end }}{{ if 1 }}b{{ end }}{{ if 0.0 }}c{{ end }}{{ if "" }}d{{ end }}',
  },
  {
    name: 'if declares a variable for both branches',
    template: '{{ if $x := .a }}{{ $x }}{{ else }}else {{ $x }}{{ end }}',
    values: { a: 0 },
  },
  { name: 'with sets dot', template: '{{ with .a }}{{ .b }}{{ end }}', values: { a: { b: 'inner' } } },
  { name: 'with else', template: '{{ with .a }}{{ . }}{{ else }}nothing{{ end }}', values: { a: '' } },
  {
    name: 'with keeps outer dollar',
    template: '{{ with .a }}{{ $.top }}-{{ .b }}{{ end }}',
    values: { top: 'T', a: { b: 'B' } },
  },
  { name: 'with variable', template: '{{ with $v := .a }}{{ $v }}/{{ . }}{{ end }}', values: { a: 3 } },
  {
    name: 'with else if is not Go 1.19',
    template: '{{ with .a }}a{{ else with .b }}b{{ end }}',
    values: { b: 1 },
  },
  { name: 'range over list', template: '{{ range .l }}[{{ . }}]{{ end }}', values: { l: ['a', 'b', 'c'] } },
  {
    name: 'range index and value',
    template: '{{ range $i, $v := .l }}{{ $i }}={{ $v }} {{ end }}',
    values: { l: ['a', 'b'] },
  },
  { name: 'range value only', template: '{{ range $v := .l }}{{ $v }}{{ end }}', values: { l: [1, 2] } },
  {
    name: 'range over map in key order',
    template: '{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}',
    values: { m: { zeta: 1, alpha: 2, Beta: 3, _x: 4, '10': 5, '9': 6 } },
  },
  {
    name: 'range over map dot is value',
    template: '{{ range .m }}{{ . }},{{ end }}',
    values: { m: { b: 2, a: 1 } },
  },
  {
    name: 'range over empty list runs else',
    template: '{{ range .l }}x{{ else }}empty{{ end }}',
    values: { l: [] },
  },
  {
    name: 'range over empty map runs else',
    template: '{{ range .m }}x{{ else }}empty{{ end }}',
    values: { m: {} },
  },
  { name: 'range over missing runs else', template: '{{ range .nope }}x{{ else }}none{{ end }}' },
  {
    name: 'range over null runs else',
    template: '{{ range .n }}x{{ else }}null{{ end }}',
    values: { n: null },
  },
  { name: 'range over a number is an error', template: '{{ range 5 }}{{ . }}{{ end }}' },
  {
    name: 'range over a JSON number is an error',
    template: '{{ range .n }}{{ . }}{{ end }}',
    values: { n: 3 },
  },
  {
    name: 'range over a string is an error',
    template: '{{ range .s }}{{ . }}{{ end }}',
    values: { s: 'abc' },
  },
  { name: 'range over true is an error', template: '{{ range true }}{{ end }}' },
  {
    name: 'range else sees range variables',
    template: '{{ range $x := .l }}{{ else }}[{{ $x }}]{{ end }}',
    values: { l: [] },
  },
  {
    name: 'nested ranges with dollar',
    template: '{{ range .a }}{{ range $.b }}{{ . }}{{ end }};{{ end }}',
    values: { a: [1, 2], b: ['x', 'y'] },
  },
  {
    name: 'nested range variables',
    template:
      '{{ range $i, $a := .a }}{{ range $j, $b := $.b }}{{ $i }}{{ $j }}{{ $a }}{{ $b }} {{ end }}{{ end }}',
    values: { a: ['p', 'q'], b: ['r', 's'] },
  },
  {
    name: 'range of list of maps',
    template: '{{ range .hosts }}{{ .name }}@{{ .ip }}\n{{ end }}',
    values: hosts,
  },
  {
    name: 'range with if on nested list',
    template:
      '{{ range .hosts }}{{ .name }}{{ if .roles }} ({{ range $i, $r := .roles }}{{ if $i }},{{ end }}{{ $r }}{{ end }}){{ end }}\n{{ end }}',
    values: hosts,
  },
  {
    name: 'break stops the range',
    template: '{{ range .l }}{{ if eq . 3.0 }}{{ break }}{{ end }}{{ . }}{{ end }}',
    values: { l: [1, 2, 3, 4] },
  },
  {
    name: 'continue skips an element',
    template: '{{ range .l }}{{ if eq . 2.0 }}{{ continue }}{{ end }}{{ . }}{{ end }}',
    values: { l: [1, 2, 3] },
  },
  {
    name: 'break in nested range breaks the inner one',
    template: '{{ range .a }}{{ range $.b }}{{ if eq . "y" }}{{ break }}{{ end }}{{ . }}{{ end }}|{{ end }}',
    values: { a: [1, 2], b: ['x', 'y', 'z'] },
  },
  {
    name: 'break inside with inside range',
    template: '{{ range .l }}{{ with . }}{{ break }}{{ end }}x{{ end }}done',
    values: { l: [1, 2] },
  },
  {
    name: 'break in range over map',
    template: '{{ range $k, $v := .m }}{{ $k }}{{ if eq $k "b" }}{{ break }}{{ end }}{{ end }}',
    values: { m: { a: 1, b: 2, c: 3 } },
  },
  {
    name: 'continue at end of body',
    template: '{{ range .l }}{{ . }}{{ continue }}{{ end }}',
    values: { l: [1, 2] },
  },
  {
    name: 'break after else branch',
    template: '{{ range .l }}{{ . }}{{ else }}{{ end }}',
    values: { l: [] },
  },
  {
    name: 'define and template',
    template: '{{ define "greet" }}Hello, {{ . }}!{{ end }}{{ template "greet" .name }}',
    values: { name: 'you' },
  },
  {
    name: 'template without data has no dot',
    template: '{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" }}',
    values: { a: 1 },
  },
  {
    name: 'template gets its own dollar',
    template: '{{ define "t" }}{{ $ }}{{ end }}{{ template "t" .a }}',
    values: { a: 'A' },
  },
  {
    name: 'template cannot see caller variables',
    template: '{{ define "t" }}{{ $x }}{{ end }}{{ $x := 1 }}{{ template "t" }}',
  },
  { name: 'template not defined', template: '{{ template "nope" }}' },
  { name: 'define after use', template: '{{ template "later" 5 }}{{ define "later" }}<{{ . }}>{{ end }}' },
  {
    name: 'templates calling templates',
    template:
      '{{ define "a" }}a({{ template "b" . }}){{ end }}{{ define "b" }}b{{ . }}{{ end }}{{ template "a" 1 }}',
  },
  {
    name: 'recursive template with base case',
    template:
      '{{ define "tree" }}{{ .name }}{{ if .kids }}({{ range .kids }}{{ template "tree" . }}{{ end }}){{ end }}{{ end }}{{ template "tree" . }}',
    values: { name: 'root', kids: [{ name: 'a', kids: [{ name: 'a1' }] }, { name: 'b' }] },
  },
  {
    name: 'infinite template recursion fails',
    template: '{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}',
  },
  {
    name: 'block with default content',
    template: '{{ block "b" .x }}default {{ . }}{{ end }}',
    values: { x: 1 },
  },
  {
    name: 'block overridden by define',
    template: '{{ block "b" . }}default{{ end }}{{ define "b" }}overridden{{ end }}',
  },
  {
    name: 'block and define both non-empty conflict',
    template: '{{ define "b" }}first{{ end }}{{ block "b" . }}second{{ end }}',
  },
  {
    name: 'define with trim markers',
    template: '{{- define "t" -}}\n  body\n{{- end -}}\n[{{ template "t" }}]',
  },
  {
    name: 'template with pipeline argument',
    template: '{{ define "t" }}{{ . }}{{ end }}{{ template "t" print "a" "b" }}',
  },
  { name: 'declare and print', template: '{{ $x := "v" }}{{ $x }}' },
  { name: 'declaration prints nothing', template: '[{{ $x := 5 }}]' },
  { name: 'assign changes the variable', template: '{{ $x := 1 }}{{ $x = 2 }}{{ $x }}' },
  {
    name: 'assign inside if is visible after',
    template: '{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}',
  },
  {
    name: 'declare inside if is not visible after',
    template: '{{ $x := "a" }}{{ if true }}{{ $x := "b" }}{{ $x }}{{ end }}{{ $x }}',
  },
  {
    name: 'assign inside range accumulates',
    template: '{{ $s := "" }}{{ range .l }}{{ $s = print $s . }}{{ end }}{{ $s }}',
    values: { l: ['a', 'b', 'c'] },
  },
  {
    name: 'variable shadowing in range',
    template: '{{ $v := "outer" }}{{ range $v := .l }}{{ $v }}{{ end }}{{ $v }}',
    values: { l: [1] },
  },
  { name: 'assign to undeclared variable', template: '{{ $y = 1 }}' },
  {
    name: 'variable declared in if body used in else',
    template: '{{ if .a }}{{ $y := 1 }}{{ else }}{{ $y }}{{ end }}',
    values: { a: false },
  },
  {
    name: 'dollar is the data in nested scopes',
    template: '{{ range .l }}{{ with .x }}{{ $.name }}{{ end }}{{ end }}',
    values: { name: 'N', l: [{ x: 1 }, { x: 0 }] },
  },
  { name: 'assign to dollar', template: '{{ $ = 5 }}{{ $ }}', values: { a: 1 } },
  {
    name: 'variable holding a map',
    template: '{{ $m := .m }}{{ $m.a }} {{ $m.missing }}',
    values: { m: { a: 1 } },
  },
  {
    name: 'pipeline declaration with pipe',
    template: '{{ $x := .a | printf "%v!" }}{{ $x }}',
    values: { a: 1 },
  },
  {
    name: 'if with pipeline of functions',
    template: '{{ if and .a (not .b) }}yes{{ end }}',
    values: { a: 1, b: 0 },
  },
  { name: 'range over a literal-built pipeline is an error', template: '{{ range "abc" }}{{ . }}{{ end }}' },
  {
    name: 'deeply nested ifs',
    template:
      '{{ if 1 }}{{ if 1 }}{{ if 1 }}{{ if 1 }}{{ if 1 }}deep{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}',
  },
  {
    name: 'comment inside range',
    template: '{{ range .l }}{{/* skip */}}{{ . }}{{ end }}',
    values: { l: [1, 2] },
  },
  {
    name: 'range over nested list',
    template: '{{ range .l }}{{ range . }}{{ . }}{{ end }};{{ end }}',
    values: { l: [[1, 2], [], [3]] },
  },
  {
    name: 'range with null elements',
    template: '{{ range $i, $v := .l }}{{ $i }}:{{ $v }} {{ . }}|{{ end }}',
    values: { l: [null, 1, null] },
  },
];
