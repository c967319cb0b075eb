// Sprig's list and dict functions: building, reading, the must* variants' errors on non-lists,
// DeepEqual-based uniq/has/without, and mergo's merge rules.
import type { TemplateCase } from './case.js';

const data = {
  l: [1, 2, 3, 4, 5],
  s: ['b', 'a', 'b', 'c'],
  empty: [],
  nested: [[1, 2], [1, 2], [3]],
  m: { a: 1, b: 'two', c: [1, 2], d: { x: 1 } },
  other: { b: 'override', e: 'new', d: { y: 2 } },
  zeros: { a: 0, b: '', c: false, d: null, e: [], f: {} },
  deep: { a: { b: { c: 'found' } } },
  hosts: [{ name: 'a', ip: '10.0.0.1' }, { name: 'b', ip: '10.0.0.2' }, { name: 'c' }],
};

export const cases: TemplateCase[] = [
  { name: 'list and tuple', template: '{{ list 1 "a" 2.5 nil true }} {{ tuple }} {{ list }}' },
  { name: 'list types', template: '{{ typeOf (list 1 "a") }} {{ list 1 2 | len }}' },
  {
    name: 'first rest last initial',
    template: '{{ first .l }} {{ rest .l }} {{ last .l }} {{ initial .l }}',
    values: data,
  },
  {
    name: 'first and last of empty',
    template: '{{ first .empty }}|{{ last .empty }}|{{ rest .empty }}|{{ initial .empty }}',
    values: data,
  },
  { name: 'first of a string fails', template: '{{ first "abc" }}' },
  { name: 'mustFirst of a map fails', template: '{{ mustFirst .m }}', values: data },
  { name: 'first of nil fails', template: '{{ first nil }}' },
  {
    name: 'append push prepend',
    template: '{{ append .l 6 }} {{ push .s "z" }} {{ prepend .l 0 }} {{ .l }}',
    values: data,
  },
  { name: 'append to a number fails', template: '{{ append 1 2 }}' },
  {
    name: 'mustAppend mustPrepend',
    template: '{{ mustAppend .s "x" }} {{ mustPrepend .s "y" }}',
    values: data,
  },
  { name: 'reverse', template: '{{ reverse .l }} {{ reverse .empty }} {{ mustReverse .s }}', values: data },
  { name: 'uniq', template: '{{ uniq .s }} {{ uniq .nested }} {{ uniq (list 1 1.0 "1" 1) }}', values: data },
  { name: 'without', template: '{{ without .l 1 3 }} {{ without .s "b" }} {{ without .l }}', values: data },
  { name: 'without compares types', template: '{{ without .l 1 }} {{ without (list 1 2) 1 }}', values: data },
  {
    name: 'has',
    template: '{{ has 3.0 .l }} {{ has 3 .l }} {{ has "a" .s }} {{ has 1 nil }} {{ .s | has "z" }}',
    values: data,
  },
  { name: 'has on a string fails', template: '{{ has "a" "abc" }}' },
  {
    name: 'compact',
    template: '{{ compact (list 1 0 "" nil "a" false (list) (dict)) }} {{ mustCompact .s }}',
    values: data,
  },
  {
    name: 'slice',
    template: '{{ slice .l }} {{ slice .l 1 }} {{ slice .l 1 3 }} {{ slice .s 2 }}',
    values: data,
  },
  { name: 'slice with string indices', template: '{{ slice .l "1" "2" }}', values: data },
  { name: 'slice of empty is nil', template: '{{ slice .empty }}|{{ typeOf (slice .empty) }}', values: data },
  { name: 'slice out of range fails', template: '{{ slice .l 2 9 }}', values: data },
  { name: 'mustSlice of a string fails', template: '{{ mustSlice "abc" 1 }}' },
  { name: 'slice keeps the element type', template: '{{ typeOf (slice (splitList "," "a,b,c") 1) }}' },
  { name: 'concat', template: '{{ concat .l .s (list) }} {{ concat }} {{ typeOf (concat) }}', values: data },
  { name: 'concat of a non-list fails', template: '{{ concat .l 1 }}', values: data },
  {
    name: 'chunk',
    template: '{{ chunk 2 .l }} {{ chunk 5 .l }} {{ chunk 10 .s }} {{ chunk 3 .empty }}',
    values: data,
  },
  { name: 'chunk by zero fails', template: '{{ chunk 0 .l }}', values: data },
  { name: 'mustChunk', template: '{{ mustChunk 4 .l }} {{ typeOf (mustChunk 4 .l) }}', values: data },
  {
    name: 'list functions over a typed list',
    template: '{{ splitList "," "x,y,x" | uniq }} {{ splitList "," "x,y" | reverse | typeOf }}',
  },
  { name: 'range over until', template: '{{ range $i, $e := until 3 }}{{ $i }}={{ $e }} {{ end }}' },
  { name: 'dict', template: '{{ dict "a" 1 "b" "two" }} {{ dict }} {{ dict "odd" }} {{ dict 1 2 3 }}' },
  { name: 'dict with nil key', template: '{{ dict nil 1 }}' },
  {
    name: 'get and hasKey',
    template: '{{ get .m "a" }} [{{ get .m "zz" }}] {{ hasKey .m "b" }} {{ hasKey .m "zz" }}',
    values: data,
  },
  {
    name: 'set and unset mutate',
    template: '{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }} {{ unset $d "a" }} {{ $d }}',
  },
  { name: 'set returns the dict', template: '{{ set (dict) "k" "v" }} {{ typeOf (set (dict) "k" "v") }}' },
  { name: 'get on a non-dict fails', template: '{{ get .l "a" }}', values: data },
  {
    name: 'keys sorted',
    template: '{{ keys .m | sortAlpha }} {{ keys .m .other | sortAlpha }} {{ keys | len }}',
    values: data,
  },
  { name: 'values of a one-key dict', template: '{{ values (dict "k" "v") }} {{ values (dict) }}' },
  { name: 'pick and omit', template: '{{ pick .m "a" "c" "zz" }} {{ omit .m "a" "c" }}', values: data },
  {
    name: 'pluck',
    template: '{{ pluck "name" (index .hosts 0) (index .hosts 1) }} {{ pluck "ip" (index .hosts 2) }}',
    values: data,
  },
  {
    name: 'dig',
    template:
      '{{ dig "a" "b" "c" "default" .deep }} {{ dig "a" "x" "c" "default" .deep }} {{ dig "a" "dflt" .deep }}',
    values: data,
  },
  { name: 'dig through a non-map fails', template: '{{ dig "a" "b" "c" "d" "x" .deep }}', values: data },
  { name: 'dig with too few arguments fails', template: '{{ dig "a" .deep }}', values: data },
  { name: 'merge keeps existing values', template: '{{ merge (dict "a" 1 "b" 2) (dict "b" 3 "c" 4) }}' },
  { name: 'merge is deep', template: '{{ merge (deepCopy .m) .other }}', values: data },
  {
    name: 'merge fills empty values',
    template:
      '{{ merge (deepCopy .zeros) (dict "a" 5 "b" "x" "c" true "d" 1 "e" (list 1) "f" (dict "k" 1)) }}',
    values: data,
  },
  { name: 'mergeOverwrite', template: '{{ mergeOverwrite (deepCopy .m) .other }}', values: data },
  {
    name: 'mergeOverwrite with empty values',
    template: '{{ mergeOverwrite (dict "a" 1 "b" "x") (dict "a" 0 "b" "") }}',
  },
  { name: 'mergeOverwrite nil overwrites', template: '{{ mergeOverwrite (dict "a" 1) (dict "a" nil) }}' },
  {
    name: 'merge does not put a map over a string',
    template: '{{ mergeOverwrite (dict "a" "s") (dict "a" (dict "x" 1)) }}',
  },
  {
    name: 'merge several sources',
    template: '{{ merge (dict) (dict "a" 1) (dict "a" 2 "b" 2) (dict "c" 3) }}',
  },
  {
    name: 'merge mutates its destination',
    template: '{{ $d := dict "a" 1 }}{{ $_ := merge $d (dict "b" 2) }}{{ $d }}',
  },
  {
    name: 'mustMerge mustMergeOverwrite',
    template:
      '{{ mustMerge (dict "a" 1) (dict "a" 2 "b" 3) }} {{ mustMergeOverwrite (dict "a" 1) (dict "a" 2) }}',
  },
  {
    name: 'merge of a dict into a version is an error merge swallows',
    template:
      '[{{ merge (dict "a" (semver "1.0.0")) (dict "a" (dict "x" 1)) }}] {{ mergeOverwrite (dict "a" (semver "1.0.0")) (dict "a" (dict "x" 1)) }}',
  },
  {
    name: 'mustMerge of a dict into a version fails',
    template: '{{ mustMerge (dict "a" (semver "1.0.0")) (dict "a" (dict "x" 1)) }}',
  },
  {
    name: 'mergeOverwrite of a version into a dict panics',
    template: '{{ mergeOverwrite (dict "a" (dict "x" 1)) (dict "a" (semver "2.0.0")) }}',
  },
  { name: 'merge of a list fails', template: '{{ merge (dict) .l }}', values: data },
  {
    name: 'deepCopy is independent',
    template: '{{ $c := deepCopy .m }}{{ $_ := set $c "a" 99 }}{{ .m.a }} {{ $c.a }}',
    values: data,
  },
  {
    name: 'deepCopy of scalars and nil',
    template: '{{ deepCopy 1 }} {{ deepCopy "s" }} {{ deepCopy .l }} [{{ mustDeepCopy .missing }}]',
    values: data,
  },
  {
    name: 'range over dict built in the template',
    template: '{{ range $k, $v := dict "z" 1 "a" 2 }}{{ $k }}={{ $v }};{{ end }}',
  },
];
