// printf with Go's verbs, flags, width and precision, and Go's %!verb(…) forms for mistakes.
import type { TemplateCase } from './case.js';

const v = {
  f: 3.14158,
  n: 42,
  neg: -42,
  s: 'héllo',
  e: '',
  l: [1, 'a', null],
  m: { b: 2, a: 'x' },
  t: true,
  z: null,
  big: 1e21,
  tiny: 1e-7,
};

export const cases: TemplateCase[] = [
  {
    name: 'printf %v of each kind',
    template: '{{ printf "%v|%v|%v|%v|%v|%v|%v" .f .n .s .l .m .t .z }}',
    values: v,
  },
  { name: 'printf %+v and %#v', template: '{{ printf "%+v|%#v|%#v|%#v|%#v" .m .m .l .s .f }}', values: v },
  { name: 'printf %#v of nil and ints', template: '{{ printf "%#v %#v %#v" .z 42 nil }}', values: v },
  {
    name: 'printf %d of int constants',
    template: '{{ printf "%d %5d %-5d| %05d %+d % d" 42 42 42 -42 42 42 }}',
  },
  { name: 'printf %d of a JSON number is a bad verb', template: '{{ printf "%d" .n }}', values: v },
  {
    name: 'printf %x %X %o %O %b',
    template: '{{ printf "%x %X %o %O %b %#x %#o %#b" 255 255 8 8 5 255 8 5 }}',
  },
  { name: 'printf %c %q %U of runes', template: "{{ printf \"%c %q %U %#U %+q\" 'é' 'é' 'é' 'é' 'é' }}" },
  {
    name: 'printf %s of strings with width and precision',
    template: '{{ printf "[%10s][%-10s][%.2s][%5.1s]" .s .s .s .s }}',
    values: v,
  },
  {
    name: 'printf %q of strings',
    template: '{{ printf "%q %+q %#q %q" .s .s "back`tick" "tab\\t" }}',
    values: v,
  },
  {
    name: 'printf %x of strings',
    template: '{{ printf "%x %X % x %#x %# X" .s .s "ab" "ab" "ab" }}',
    values: v,
  },
  {
    name: 'printf float verbs',
    template: '{{ printf "%f %.2f %8.3f %-8.3f| %08.3f %e %E %g %G" .f .f .f .f .f .f .f .f .f }}',
    values: v,
  },
  {
    name: 'printf float large and small',
    template: '{{ printf "%v %g %e %f %v %g" .big .big .big .tiny .tiny .tiny }}',
    values: v,
  },
  {
    name: 'printf %.0f rounds half to even',
    template: '{{ printf "%.0f %.0f %.0f %.1f %.2f" 0.5 1.5 2.5 0.25 1.005 }}',
  },
  {
    name: 'printf %g precision',
    template: '{{ printf "%.3g %.10g %g %#g %#.3g" 1234567.0 1.0 100000.0 1.0 2.0 }}',
  },
  { name: 'printf %x of a float', template: '{{ printf "%x %X %.2x %b" 1.0 3.5 0.1 1.0 }}' },
  { name: 'printf %t', template: '{{ printf "%t %t %5t" true false .t }}', values: v },
  { name: 'printf %T', template: '{{ printf "%T %T %T %T %T %T" .f 1 "s" .l .m .z }}', values: v },
  { name: 'printf %% and literal text', template: '{{ printf "100%% of %s" "it" }}' },
  { name: 'printf missing argument', template: '{{ printf "%s and %s" "one" }}' },
  { name: 'printf extra arguments', template: '{{ printf "%s" "one" "two" 3 .z }}', values: v },
  { name: 'printf no verb at end', template: '{{ printf "abc%" }}' },
  { name: 'printf bad verb', template: '{{ printf "%z %!" 1 2 }}' },
  { name: 'printf wrong verb for type', template: '{{ printf "%d %s %t %x" "str" 1 "s" true }}' },
  { name: 'printf wrong verb with width', template: '{{ printf "%5d" "hi" }}' },
  { name: 'printf argument index', template: '{{ printf "%[2]s %[1]s %s" "a" "b" }}' },
  { name: 'printf bad argument index', template: '{{ printf "%[3]s %[0]d %[x]d" "a" }}' },
  {
    name: 'printf star width and precision',
    template: '{{ printf "[%*d] [%-*d] [%.*f] [%*s]" 5 1 4 2 2 3.14159 -6 "ab" }}',
  },
  { name: 'printf star with a float width is bad', template: '{{ printf "%*d" .n 1 }}', values: v },
  { name: 'printf star missing', template: '{{ printf "%*d" }}' },
  { name: 'printf nil argument with verbs', template: '{{ printf "%v %d %s" nil nil nil }}' },
  { name: 'printf missing key argument', template: '{{ printf "%v|%s|%d" .missing .missing .missing }}' },
  { name: 'printf null key argument', template: '{{ printf "%v" .z }}', values: v },
  {
    name: 'printf of list with verbs',
    template: '{{ printf "%d|%s|%q|%x|%5v" .l .l .l .l .l }}',
    values: { l: [1, 'a', null, true] },
  },
  { name: 'printf of map with verbs', template: '{{ printf "%d|%s|%q" .m .m .m }}', values: v },
  { name: 'printf %w is bad', template: '{{ printf "%w %w" "s" .l }}', values: v },
  { name: 'printf with no arguments', template: '{{ printf "plain" }}' },
  { name: 'printf with a non-string format', template: '{{ printf 1 }}' },
  {
    name: 'printf format from data',
    template: '{{ printf .fmt .n }}',
    values: { fmt: '%05.1f', n: 2.5172 },
  },
  { name: 'printf piped final argument', template: '{{ .n | printf "n=%v" }}', values: v },
  { name: 'printf of negative ints', template: '{{ printf "%x %o %b %c %U %q" -255 -8 -5 -1 -1 -1 }}' },
  { name: 'printf unicode width', template: '{{ printf "[%6s][%-6s][%6q]" "日本" "日本" "é" }}' },
  {
    name: 'printf plus and space flags on floats',
    template: '{{ printf "%+.2f % .2f %+e % g %+v" 1.5 1.5 1.5 -1.5 2.0 }}',
  },
  {
    name: 'printf zero padding with sign',
    template: '{{ printf "%08.2f %+08d %-08d| %08s %08q" -3.14159 42 42 "ab" "c" }}',
  },
  { name: 'printf precision on ints', template: '{{ printf "%.3d %.0d %5.0d| %8.3x" 7 0 0 255 }}' },
  { name: 'printf big exponent', template: '{{ printf "%e %g %v" 1e100 1e-100 1e300 }}' },
  { name: 'printf %v of the data', template: '{{ printf "%v" . }}', values: { b: [1, { c: null }], a: 'x' } },
  { name: 'printf invalid rune', template: '{{ printf "%c|%q|%U" 1114112 55296 1114112 }}' },
  { name: 'printf unicode verb', template: '{{ printf "%é" 1 }}' },
  {
    name: 'printf width past the fmt bound',
    template:
      '{{ printf "%100000000d" 1 }} {{ printf "%10000000d" 1 | len }} {{ printf "%.10000000f" 1.0 | len }}',
  },
];
