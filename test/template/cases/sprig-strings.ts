// Sprig's string functions: Go's strings package (with Go's simple case mappings), goutils'
// byte-oriented helpers, xstrings' case conversions, quoting, splitting and joining.
import type { TemplateCase } from './case.js';

const text = {
  s: 'Hello, World',
  multi: 'line one\nline two\nline three',
  uni: 'héllo wörld',
  n: 3,
  list: ['b', 'a', 'c'],
  mixed: [1, 'two', null, 3.5, true],
};

export const cases: TemplateCase[] = [
  { name: 'hello', template: '{{ hello }}' },
  { name: 'upper lower', template: '{{ upper .s }} {{ lower .s }}', values: text },
  {
    name: 'upper keeps sharp s, lower maps capital I with dot',
    template: '{{ upper "straße" }} {{ lower "İSTANBUL" }}',
  },
  {
    name: 'title and untitle',
    template: '{{ title "hello wide_world foo-bar" }}|{{ untitle "Hello World AND" }}',
  },
  { name: 'title after digits and non-ASCII', template: '{{ title "3rd élan x" }}' },
  { name: 'trim trims unicode space', template: '[{{ trim "  \\t hi \\n " }}]' },
  { name: 'trimAll and trimall', template: '{{ trimAll "$" "$$5.00$" }} {{ trimall "-_" "-_a-b_-" }}' },
  {
    name: 'trimPrefix trimSuffix',
    template: '{{ trimPrefix "foo" "foobar" }} {{ trimSuffix "bar" "foobar" }} {{ trimPrefix "x" "foo" }}',
  },
  { name: 'trimAll with empty cutset', template: '[{{ trimAll "" " a " }}]' },
  { name: 'repeat', template: '{{ repeat 3 "ab" }}|{{ repeat 0 "ab" }}|{{ "x" | repeat 4 }}' },
  { name: 'repeat with negative count fails', template: '{{ repeat -1 "ab" }}' },
  { name: 'repeat with a string count fails', template: '{{ repeat "3" "ab" }}' },
  { name: 'repeat with a float64 value fails', template: '{{ repeat .n "ab" }}', values: text },
  { name: 'repeat with int of a float64 value', template: '{{ repeat (int .n) "ab" }}', values: text },
  {
    name: 'substr',
    template: '{{ substr 0 5 .s }}|{{ substr 7 100 .s }}|{{ substr -1 4 .s }}|{{ substr 3 -1 .s }}',
    values: text,
  },
  { name: 'substr out of range fails', template: '{{ substr 5 2 "abc" }}' },
  {
    name: 'trunc',
    template: '{{ trunc 5 .s }}|{{ trunc -5 .s }}|{{ trunc 50 .s }}|{{ trunc -50 .s }}',
    values: text,
  },
  { name: 'trunc cuts bytes', template: '{{ trunc 3 "héllo" | len }}' },
  {
    name: 'abbrev',
    template: '{{ abbrev 5 "hello world" }}|{{ abbrev 3 "hello world" }}|{{ abbrev 20 "hello" }}',
  },
  {
    name: 'abbrevboth',
    template:
      '{{ abbrevboth 5 10 "1234 5678 9123" }}|{{ abbrevboth 0 6 "abcdefghij" }}|{{ abbrevboth 3 5 "abcdefghij" }}',
  },
  { name: 'abbrevboth long offset', template: '{{ abbrevboth 10 10 "abcdefghijklmnopqrstuvwxyz" }}' },
  { name: 'nospace', template: '{{ nospace " h e\\tl\\nl o " }}' },
  { name: 'initials', template: '{{ initials "First Try" }}|{{ initials "  a  b\\tc " }}|{{ initials "" }}' },
  { name: 'swapcase', template: '{{ swapcase "This Is A.Test" }}|{{ swapcase "hello WORLD" }}' },
  {
    name: 'snakecase',
    template:
      '{{ snakecase "FirstName" }} {{ snakecase "HTTPServer" }} {{ snakecase "Bld4Floor" }} {{ snakecase "HTTP2xx" }}',
  },
  {
    name: 'snakecase with connectors',
    template: '{{ snakecase "some-mixed_case words" }} {{ snakecase "a.b" }} {{ snakecase "ID" }}',
  },
  {
    name: 'kebabcase',
    template: '{{ kebabcase "FirstName" }} {{ kebabcase "already-kebab" }} {{ kebabcase "Version2Beta" }}',
  },
  {
    name: 'camelcase',
    template:
      '{{ camelcase "http_server" }} {{ camelcase "_leading" }} {{ camelcase "a" }} {{ camelcase "__" }} {{ camelcase "x-y z" }}',
  },
  { name: 'wrap', template: '{{ wrap 10 "the quick brown fox jumps over the lazy dog" }}' },
  { name: 'wrap keeps long words', template: '{{ wrap 5 "a https://example.com/long b" }}' },
  { name: 'wrapWith cuts long words', template: '{{ wrapWith 5 "<br>" "a https://example.com/long b" }}' },
  {
    name: 'contains hasPrefix hasSuffix',
    template:
      '{{ contains "cat" "catch" }} {{ hasPrefix "ca" "catch" }} {{ hasSuffix "ch" "catch" }} {{ "catch" | contains "dog" }}',
  },
  {
    name: 'quote and squote',
    template: '{{ quote "a\\"b" }} {{ squote "c" }} {{ quote 1 2.5 true }} {{ squote 3 nil "x" }}',
  },
  { name: 'quote escapes control and non-printable', template: '{{ quote "tab\\there\\u0001é" }}' },
  {
    name: 'quote of nil and of a missing key',
    template: '[{{ quote nil }}][{{ quote .missing }}][{{ squote .missing }}]',
  },
  { name: 'quote of a list', template: '{{ quote .list }} {{ squote .list }}', values: text },
  { name: 'cat', template: '{{ cat "a" 1 nil 2.5 "b" }}|{{ cat }}|{{ cat .list }}', values: text },
  { name: 'indent and nindent', template: '{{ indent 2 .multi }}|{{ nindent 4 "x\\ny" }}', values: text },
  { name: 'indent 0 and negative fails', template: '{{ indent 0 "a\\nb" }}{{ indent -1 "a" }}' },
  {
    name: 'replace',
    template: '{{ replace " " "-" "a b c" }} {{ "aaa" | replace "a" "bb" }} {{ replace "" "." "abc" }}',
  },
  {
    name: 'plural',
    template: '{{ plural "one" "many" 1 }} {{ plural "one" "many" 2 }} {{ plural "one" "many" 0 }}',
  },
  { name: 'split', template: '{{ $p := split "," "a,b,,c" }}{{ $p._0 }}|{{ $p._3 }}|{{ $p }}' },
  { name: 'split on empty separator', template: '{{ split "" "héy" }}' },
  {
    name: 'splitList',
    template: '{{ splitList "," "a,b,,c" }} {{ splitList "," "" | len }} {{ splitList "x" "abc" }}',
  },
  {
    name: 'splitn',
    template: '{{ splitn "," 2 "a,b,c" }} {{ splitn "," 0 "a,b" }} {{ splitn "," -1 "a,b,c" }}',
  },
  {
    name: 'join',
    template: '{{ join "-" .list }} {{ join ", " .mixed }} {{ join "," "single" }} {{ join "," nil }}',
    values: text,
  },
  { name: 'join of splitList', template: '{{ splitList "/" "a/b/c" | join "." }}' },
  {
    name: 'sortAlpha',
    template: '{{ sortAlpha .list }} {{ sortAlpha .mixed }} {{ sortAlpha "x" }}',
    values: text,
  },
  { name: 'sortAlpha byte order', template: '{{ list "b" "B" "a" "é" "Z" "_" | sortAlpha }}' },
  {
    name: 'toStrings',
    template: '{{ toStrings .mixed }} {{ toStrings "a" }} {{ toStrings nil | len }}',
    values: text,
  },
  {
    name: 'toString',
    template:
      '{{ toString 1 }} {{ toString 2.5 }} {{ toString nil }} {{ toString .list }} {{ toString true }}',
    values: text,
  },
  {
    name: 'string functions on unicode',
    template: '{{ upper .uni }} {{ title .uni }} {{ swapcase .uni }} {{ substr 1 3 .uni }}',
    values: text,
  },
  { name: 'upper of a number fails', template: '{{ upper 1 }}' },
  { name: 'contains with too few arguments fails', template: '{{ contains "a" }}' },
];
