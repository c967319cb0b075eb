// Sprig's arithmetic and conversions: spf13/cast's rules for interface{} arguments (strings,
// floats, bools, nil), int64 results, decimal-based float math, rounding, ranges.
import type { TemplateCase } from './case.js';

const nums = {
  i: 7,
  f: 2.5,
  neg: -3.7,
  s: '42',
  sf: '3.0',
  hex: '0x1F',
  oct: '017',
  bad: 'abc',
  big: 1e20,
  t: true,
};

export const cases: TemplateCase[] = [
  {
    name: 'add sub mul div mod',
    template: '{{ add 1 2 3 }} {{ sub 10 3 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 3 }}',
  },
  { name: 'add of nothing and of one', template: '{{ add }} {{ add 5 }} {{ mul 5 }}' },
  {
    name: 'math on JSON numbers truncates',
    template: '{{ add .f .f }} {{ add1 .f }} {{ sub .i .f }} {{ mul .neg 2 }} {{ div .i .f }}',
    values: nums,
  },
  {
    name: 'math on strings casts',
    template: '{{ add .s 1 }} {{ add .sf 1 }} {{ add .hex 1 }} {{ add .oct 1 }} {{ add .bad 1 }}',
    values: nums,
  },
  {
    name: 'math on bools and nil',
    template: '{{ add .t 1 }} {{ add nil 1 }} {{ add .missing 1 }}',
    values: nums,
  },
  { name: 'negative division and modulo', template: '{{ div -7 2 }} {{ mod -7 3 }} {{ mod 7 -3 }}' },
  { name: 'division by zero fails', template: '{{ div 1 0 }}' },
  { name: 'modulo by zero fails', template: '{{ mod 1 0 }}' },
  {
    name: 'int64 overflow wraps',
    template: '{{ add 9223372036854775807 1 }} {{ mul 9223372036854775807 2 }}',
  },
  { name: 'huge float to int', template: '{{ int64 .big }} {{ int .big }}', values: nums },
  {
    name: 'add1 and results are int64',
    template: '{{ add1 41 }} {{ typeOf (add1 1) }} {{ typeOf (add 1 2) }}',
  },
  {
    name: 'max min biggest',
    template: '{{ max 1 5 3 }} {{ min 4 2 8 }} {{ biggest 1 9 }} {{ max -1 }} {{ min .f .i }}',
    values: nums,
  },
  {
    name: 'maxf minf',
    template: '{{ maxf 1 5.5 3 }} {{ minf 4 2.25 8 }} {{ maxf .neg }} {{ typeOf (maxf 1) }}',
    values: nums,
  },
  {
    name: 'addf subf mulf divf',
    template: '{{ addf 1.1 2.2 }} {{ subf 10 3.3 }} {{ mulf 1.1 3 }} {{ divf 10 3 }}',
  },
  {
    name: 'float math is decimal',
    template: '{{ addf 0.1 0.2 }} {{ mulf 0.1 3 }} {{ subf 0.3 0.1 }} {{ divf 1 3 }} {{ divf 2 3 }}',
  },
  {
    name: 'add1f and addf of nothing',
    template: '{{ add1f 1.5 }} {{ addf }} {{ addf .s .f }}',
    values: nums,
  },
  {
    name: 'divf rounding',
    template: '{{ divf 1 7 }} {{ divf -1 7 }} {{ divf 5 9 }} {{ divf 123456789 1000 }}',
  },
  { name: 'divf by zero fails', template: '{{ divf 1 0 }}' },
  {
    name: 'ceil floor',
    template: '{{ ceil 1.2 }} {{ floor 1.8 }} {{ ceil -1.2 }} {{ floor "2.5" }} {{ ceil .i }}',
    values: nums,
  },
  { name: 'ceil of a small negative prints negative zero', template: '{{ ceil -0.5 }}' },
  {
    name: 'round',
    template:
      '{{ round 1.2345 2 }} {{ round 1.255 2 }} {{ round 2.5 0 }} {{ round -2.5 0 }} {{ round 123.456 -1 }}',
  },
  { name: 'round with a custom threshold', template: '{{ round 1.24 1 0.4 }} {{ round 1.23 1 0.4 }}' },
  {
    name: 'int int64 float64',
    template:
      '{{ int "12" }} {{ int64 "0x10" }} {{ float64 "1.5e3" }} {{ int 3.99 }} {{ int -3.99 }} {{ float64 .i }}',
    values: nums,
  },
  {
    name: 'conversion failures give zero',
    template: '{{ int "x" }} {{ int64 "1.5" }} {{ float64 "x" }} {{ int nil }} {{ float64 (list 1) }}',
  },
  {
    name: 'cast trims zero decimals',
    template: '{{ int "3.000" }} {{ int "3." }} {{ int "3.10" }} {{ int "+7" }} {{ int "1_000" }}',
  },
  {
    name: 'float64 parses Go float syntax',
    template:
      '{{ float64 "inf" }} {{ float64 "-Infinity" }} {{ float64 ".5" }} {{ float64 "1_000.5" }} {{ float64 "0x1p-2" }} {{ float64 "1e400" }}',
  },
  {
    name: 'conversion result types',
    template: '{{ typeOf (int 1) }} {{ typeOf (int64 1) }} {{ typeOf (float64 1) }} {{ typeOf (atoi "1") }}',
  },
  {
    name: 'atoi',
    template:
      '{{ atoi "42" }} {{ atoi "-7" }} {{ atoi "x" }} {{ atoi "3.5" }} {{ atoi " 1" }} {{ atoi "99999999999999999999" }}',
  },
  {
    name: 'toDecimal',
    template: '{{ toDecimal "777" }} {{ toDecimal 644 }} {{ toDecimal "9" }} {{ toDecimal .f }}',
    values: nums,
  },
  {
    name: 'seq',
    template:
      '{{ seq 5 }}|{{ seq 0 }}|{{ seq -3 }}|{{ seq 2 5 }}|{{ seq 5 2 }}|{{ seq 0 2 10 }}|{{ seq 10 -3 1 }}|{{ seq 1 2 }}',
  },
  { name: 'seq odd cases', template: '[{{ seq }}][{{ seq 1 2 3 4 }}][{{ seq 10 3 1 }}][{{ seq 1 0 5 }}]' },
  {
    name: 'until and untilStep',
    template:
      '{{ until 5 }} {{ until -3 }} {{ until 0 }} {{ untilStep 0 10 3 }} {{ untilStep 10 0 -4 }} {{ untilStep 0 10 -1 }}',
  },
  { name: 'until result type', template: '{{ typeOf (until 2) }} {{ typeOf (index (until 2) 0) }}' },
  { name: 'randInt range', template: '{{ $r := randInt 5 6 }}{{ $r }}' },
  { name: 'randInt with an empty range fails', template: '{{ randInt 5 5 }}' },
  { name: 'arithmetic in a range', template: '{{ range $i := until 4 }}{{ mul $i $i }},{{ end }}' },
];
