// Sprig's defaults, flow, reflection and encoding functions: emptiness as Go's zero values,
// ternary/fail/required-style use, typeOf/kindOf names, encoding/json (HTML escaping, sorted
// keys, float formatting), base64/base32 with Go's error texts.
import type { TemplateCase } from './case.js';

const data = {
  zero: 0,
  one: 1,
  str: 'text',
  emptyStr: '',
  f: false,
  t: true,
  nul: null,
  l: [1, 'a', null],
  el: [],
  m: { k: 'v', n: 1.5, nested: { z: [true, null] } },
  em: {},
  html: '<a href="x">&</a>',
  floats: [1, 1.5, 1e21, 1e-7, 0.000001, 123456789012, -0, 1e20],
  unicode: 'é\u2028ü\u0001\t',
};

export const cases: TemplateCase[] = [
  {
    name: 'default picks the default for empty values',
    template:
      '{{ default "d" .zero }} {{ default "d" .emptyStr }} {{ default "d" .f }} {{ default "d" .nul }} {{ default "d" .el }} {{ default "d" .em }} {{ default "d" .missing }}',
    values: data,
  },
  {
    name: 'default keeps set values',
    template:
      '{{ default "d" .one }} {{ default "d" .str }} {{ default "d" .t }} {{ default "d" .l }} {{ default "d" .m.k }}',
    values: data,
  },
  {
    name: 'default in a pipeline',
    template: '{{ .missing | default "fallback" }} {{ .str | default "fallback" }}',
    values: data,
  },
  { name: 'default with no given value', template: '{{ default "d" }}' },
  { name: 'default of a default list', template: '{{ default (list 1 2) .missing }}', values: data },
  {
    name: 'empty',
    template:
      '{{ empty .zero }} {{ empty .one }} {{ empty .emptyStr }} {{ empty .l }} {{ empty .el }} {{ empty .em }} {{ empty .missing }} {{ empty 0.0 }}',
    values: data,
  },
  {
    name: 'coalesce',
    template:
      '{{ coalesce .zero .emptyStr .str }} {{ coalesce .missing .one }} [{{ coalesce .zero .f }}] [{{ coalesce }}]',
    values: data,
  },
  {
    name: 'all and any',
    template:
      '{{ all .one .str }} {{ all .one .zero }} {{ all }} {{ any .zero .str }} {{ any .zero .f }} {{ any }}',
    values: data,
  },
  {
    name: 'ternary',
    template:
      '{{ ternary "yes" "no" true }} {{ ternary "yes" "no" false }} {{ true | ternary 1 2 }} {{ ternary .l .m .t }}',
    values: data,
  },
  { name: 'ternary with a non-bool fails', template: '{{ ternary 1 2 "true" }}' },
  { name: 'fail', template: 'before {{ fail "stop here" }} after' },
  { name: 'fail inside an if that is not taken', template: '{{ if false }}{{ fail "no" }}{{ end }}ok' },
  {
    name: 'required-style check with fail',
    template: '{{ if not .missing }}{{ fail "missing is required" }}{{ end }}',
    values: data,
  },
  {
    name: 'typeOf',
    template:
      '{{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf "s" }} {{ typeOf .one }} {{ typeOf .l }} {{ typeOf .m }} {{ typeOf nil }} {{ typeOf .missing }} {{ typeOf true }}',
    values: data,
  },
  {
    name: 'kindOf',
    template:
      '{{ kindOf 1 }} {{ kindOf 1.5 }} {{ kindOf "s" }} {{ kindOf .l }} {{ kindOf .m }} {{ kindOf nil }} {{ kindOf true }} {{ kindOf (semver "1.0.0") }}',
    values: data,
  },
  {
    name: 'typeIs typeIsLike kindIs',
    template:
      '{{ typeIs "int" 1 }} {{ typeIs "float64" .one }} {{ typeIsLike "semver.Version" (semver "1.0.0") }} {{ kindIs "map" .m }} {{ kindIs "slice" .m }}',
    values: data,
  },
  {
    name: 'deepEqual',
    template:
      '{{ deepEqual .l .l }} {{ deepEqual (list 1 2) (list 1 2) }} {{ deepEqual 1 .one }} {{ deepEqual .one 1.0 }} {{ deepEqual nil .missing }} {{ deepEqual .m (deepCopy .m) }}',
    values: data,
  },
  {
    name: 'deepEqual of different list types',
    template: '{{ deepEqual (list "a") (splitList "," "a") }} {{ deepEqual (dict "a" 1) (dict "a" 1) }}',
  },
  {
    name: 'toJson',
    template:
      '{{ toJson .m }} {{ toJson .l }} {{ toJson .str }} {{ toJson nil }} {{ toJson .missing }} {{ toJson 1 }}',
    values: data,
  },
  {
    name: 'toJson escapes HTML',
    template: '{{ toJson .html }} {{ toRawJson .html }} {{ mustToJson .html }}',
    values: data,
  },
  { name: 'toJson float formatting', template: '{{ toJson .floats }}', values: data },
  { name: 'toJson escapes', template: '{{ toJson .unicode }} {{ toRawJson .unicode }}', values: data },
  {
    name: 'toJson of template values',
    template: '{{ toJson (dict "b" (list 1 2.5 "x") "a" (until 2) "c" (semver "v1.2.3")) }}',
  },
  {
    name: 'toPrettyJson',
    template:
      '{{ toPrettyJson .m }}|{{ toPrettyJson .el }}|{{ toPrettyJson .em }}|{{ toPrettyJson (list (dict) (list)) }}',
    values: data,
  },
  {
    name: 'mustToPrettyJson and mustToRawJson',
    template: '{{ mustToPrettyJson (list 1 "<") }}|{{ mustToRawJson (dict "k" "<v>") }}',
  },
  {
    name: 'fromJson',
    template:
      '{{ $v := fromJson "{\\"a\\": [1, 2.5, \\"x\\", null, true], \\"b\\": {\\"c\\": 1e3}}" }}{{ $v.a }} {{ $v.b.c }} {{ typeOf $v }}',
  },
  {
    name: 'fromJson of scalars',
    template: '{{ fromJson "1" }} {{ fromJson "\\"s\\"" }} {{ fromJson "null" }} {{ fromJson "true" }}',
  },
  { name: 'fromJson of invalid input is nil', template: '[{{ fromJson "{bad" }}] [{{ fromJson "" }}]' },
  { name: 'mustFromJson fails on invalid input', template: '{{ mustFromJson "[1," }}' },
  { name: 'mustFromJson', template: '{{ (mustFromJson "{\\"k\\": \\"v\\"}").k }}' },
  { name: 'json round trip', template: '{{ .m | toJson | fromJson | toJson }}', values: data },
  {
    name: 'b64enc b64dec',
    template:
      '{{ b64enc "hello, wörld" }} {{ b64dec "aGVsbG8sIHfDtnJsZA==" }} {{ b64enc "" }} [{{ b64dec "" }}]',
  },
  {
    name: 'b64dec errors are printed',
    template:
      '{{ b64dec "abc" }}|{{ b64dec "a!bc" }}|{{ b64dec "YQ==YQ==" }}|{{ b64dec "YQ" }}|{{ b64dec "=" }}',
  },
  { name: 'b64dec skips newlines', template: '{{ b64dec "aGVs\\nbG8=\\r\\n" }}' },
  {
    name: 'b32enc b32dec',
    template: '{{ b32enc "hello" }} {{ b32dec "NBSWY3DP" }} {{ b32enc "a" }} {{ b32dec "ME======" }}',
  },
  {
    name: 'b32dec errors are printed',
    template: '{{ b32dec "1" }}|{{ b32dec "ME=" }}|{{ b32dec "MEZ=====" }}|{{ b32dec "M" }}',
  },
  {
    name: 'complex constants with sprig',
    template: '{{ empty 0i }} {{ default 5 0i }} {{ coalesce 0i 1i }} {{ int64 2i }} [{{ toJson 2i }}]',
  },
  { name: 'mustToJson of a complex fails', template: '{{ mustToJson (list 1i) }}' },
  {
    name: 'objects are never empty',
    template: '{{ empty (semver "0.0.0") }} {{ empty (toDate "x" "y") }} {{ default 1 (semver "1.0.0") }}',
  },
  { name: 'encodings chain', template: '{{ "secret" | b64enc | b32enc | b32dec | b64dec }}' },
];
