// Sprig's regex and semver functions: Go's RE2 syntax and leftmost-first matching (empty
// matches, flags, classes, $-expansion), errors for bad patterns, and Masterminds/semver's
// parsing, methods and constraint checks.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${1} and ${name} are Go's regexp expansion
import type { TemplateCase } from './case.js';

export const cases: TemplateCase[] = [
  {
    name: 'regexMatch',
    template:
      '{{ regexMatch "^[a-z]+$" "abc" }} {{ regexMatch "^[a-z]+$" "ab1" }} {{ regexMatch "b" "abc" }} {{ regexMatch "" "" }}',
  },
  {
    name: 'regexMatch with a bad pattern is false',
    template: '{{ regexMatch "(" "x" }} {{ regexMatch "a**" "a" }}',
  },
  { name: 'mustRegexMatch fails on a bad pattern', template: '{{ mustRegexMatch "[a-" "x" }}' },
  {
    name: 'regexFind',
    template:
      '[{{ regexFind "[0-9]+" "abc123def456" }}] [{{ regexFind "x" "abc" }}] [{{ mustRegexFind "b+" "abbbc" }}]',
  },
  {
    name: 'regexFindAll',
    template:
      '{{ regexFindAll "[0-9]+" "a1b22c333" -1 }} {{ regexFindAll "[0-9]+" "a1b22c333" 2 }} {{ regexFindAll "x" "abc" -1 }} {{ regexFindAll "." "abc" 0 }}',
  },
  {
    name: 'regexFindAll with empty matches',
    template:
      '{{ regexFindAll "a*" "baaab" -1 }} {{ regexFindAll "" "abc" -1 }} {{ regexFindAll "x*" "" -1 }}',
  },
  { name: 'regexFindAll with a bad pattern fails', template: '{{ regexFindAll "(" "x" -1 }}' },
  {
    name: 'regexReplaceAll with expansion',
    template:
      '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }} {{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }} {{ regexReplaceAll "(?P<first>\\\\w+) (?P<last>\\\\w+)" "John Smith" "$last, $first" }}',
  },
  {
    name: 'regexReplaceAll with dollars',
    template:
      '{{ regexReplaceAll "b" "abc" "$$" }} {{ regexReplaceAll "b" "abc" "$" }} {{ regexReplaceAll "b" "abc" "${" }} {{ regexReplaceAll "(b)" "abc" "${1" }} {{ regexReplaceAll "(b)" "abc" "$9" }}',
  },
  {
    name: 'regexReplaceAll empty matches',
    template:
      '{{ regexReplaceAll "x*" "abc" "-" }} {{ regexReplaceAll "a|" "baaac" "-" }} {{ regexReplaceAll "" "" "x" }}',
  },
  {
    name: 'regexReplaceAllLiteral',
    template:
      '{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }} {{ mustRegexReplaceAllLiteral "[aeiou]" "education" "_" }}',
  },
  {
    name: 'regexSplit',
    template:
      '{{ regexSplit "z+" "pizza" -1 }} {{ regexSplit "z+" "pizza" 1 }} {{ regexSplit "" "abc" -1 }} {{ regexSplit "a" "" -1 }} {{ regexSplit "," "a,b,c" 2 }} {{ regexSplit "," "a,b" 0 }}',
  },
  {
    name: 'regexSplit edges',
    template:
      '{{ regexSplit "a" "banana" -1 | len }} {{ regexSplit "^" "ab" -1 }} {{ regexSplit "$" "ab" -1 }} {{ mustRegexSplit "x*" "axxb" -1 }}',
  },
  { name: 'regexQuoteMeta', template: '{{ regexQuoteMeta "1.5+2*[x]?(y)|{z}^$\\\\" }}' },
  {
    name: 'regex flags',
    template:
      '{{ regexMatch "(?i)^HELLO$" "hello" }} {{ regexFindAll "(?m)^\\\\w+" "one\\ntwo\\nthree" -1 }} {{ regexFind "(?s)a.b" "a\\nb" }} {{ regexFind "a.b" "a\\nb" }} {{ regexFind "(?U)a+" "aaa" }}',
  },
  {
    name: 'regex flag groups',
    template: '{{ regexFindAll "a(?i:b)c" "abc aBc ABC" -1 }} {{ regexFindAll "(?i)a(?-i)b" "ab Ab aB" -1 }}',
  },
  {
    name: 'regex classes',
    template:
      '{{ regexFindAll "\\\\d+|\\\\s+|\\\\w+" "ab 12\\tc_d" -1 }} {{ regexFindAll "[[:upper:]][[:lower:]]*" "HelloWorld FOO" -1 }} {{ regexFindAll "[^a-c]+" "abxycz" -1 }}',
  },
  {
    name: 'regex unicode classes',
    template:
      '{{ regexFindAll "\\\\p{L}+" "héllo wörld 42" -1 }} {{ regexFindAll "\\\\p{Greek}+" "abc αβγ def" -1 }} {{ regexFindAll "\\\\PL+" "ab12cd" -1 }}',
  },
  {
    name: 'regex anchors and boundaries',
    template:
      '{{ regexFindAll "\\\\bfoo\\\\b" "foo foobar barfoo foo" -1 }} {{ regexReplaceAll "\\\\B" "abc" "-" }} {{ regexMatch "\\\\Aab\\\\z" "ab" }} {{ regexMatch "^b" "ab" }}',
  },
  {
    name: 'regex dollar does not match before a final newline',
    template: '{{ regexMatch "a$" "a\\n" }} {{ regexMatch "(?m)a$" "a\\n" }}',
  },
  {
    name: 'regex repetition',
    template:
      '{{ regexFindAll "a{2}" "aaaaa" -1 }} {{ regexFindAll "a{2,3}" "aaaaaaa" -1 }} {{ regexFindAll "a{2,}?" "aaaaa" -1 }} {{ regexFind "a{,2}" "a{,2}" }}',
  },
  {
    name: 'regex alternation is leftmost-first',
    template:
      '{{ regexFind "a|ab" "ab" }} {{ regexFind "ab|a" "ab" }} {{ regexFind "(a|ab)(c|bcd)" "abcd" }} {{ regexFind "a*?" "aaa" }}',
  },
  {
    name: 'regex escapes',
    template:
      '{{ regexFindAll "\\\\x41|\\\\x{42}|\\\\101|\\\\t" "AB\\t" -1 }} {{ regexMatch "\\\\Q.*\\\\E" ".*" }} {{ regexMatch "\\\\Q.*\\\\E" "ab" }}',
  },
  {
    name: 'regex on unicode text',
    template:
      '{{ regexFindAll "." "añ😀b" -1 }} {{ regexReplaceAll "ñ" "añb" "n" }} {{ regexSplit "😀" "a😀b" -1 }}',
  },
  {
    name: 'regex case folding beyond ASCII',
    template:
      '{{ regexMatch "(?i)straße" "STRAßE" }} {{ regexMatch "(?i)k" "\\u212a" }} {{ regexMatch "(?i)[a-z]+" "ÀÉ" }} {{ regexMatch "(?i)é" "É" }}',
  },
  { name: 'regex syntax Go rejects fails', template: '{{ mustRegexMatch "(?=a)" "a" }}' },
  { name: 'regex backreference fails', template: '{{ mustRegexMatch "(a)\\\\1" "aa" }}' },
  { name: 'regex nested repetition fails', template: '{{ mustRegexFind "a**" "aa" }}' },
  { name: 'regex repeat count over 1000 fails', template: '{{ mustRegexFind "a{1001}" "a" }}' },
  { name: 'regex unknown class fails', template: '{{ mustRegexFind "[[:foo:]]" "a" }}' },
  {
    name: 'regex named groups expand',
    template: '{{ regexReplaceAll "(?P<y>\\\\d{4})-(?P<m>\\\\d{2})" "2021-03 and 1999-12" "${m}/${y}" }}',
  },
  {
    name: 'regex with submatch priority',
    template:
      '{{ regexReplaceAll "(a*)(a*)" "aaa" "[$1|$2]" }} {{ regexReplaceAll "(a*?)(a*)" "aaa" "[$1|$2]" }} {{ regexReplaceAll "(a|b)*" "abab" "<$1>" }}',
  },
  {
    name: 'regex empty alternative',
    template: '{{ regexFindAll "x|" "axb" -1 }} {{ regexReplaceAll "(|a)+" "aaa" "<$1>" }}',
  },
  {
    name: 'semver',
    template:
      '{{ semver "1.2.3" }} {{ (semver "1.2.3-beta.1+build").Prerelease }} {{ (semver "v2.0").Major }} {{ (semver "1.2.3+meta").Metadata }}',
  },
  {
    name: 'semver fields',
    template:
      '{{ $v := semver "v3.4.5-rc.1" }}{{ $v.Major }}.{{ $v.Minor }}.{{ $v.Patch }} {{ $v.Original }} {{ $v.String }} {{ typeOf $v }} {{ typeOf $v.Major }}',
  },
  {
    name: 'semver increments',
    template:
      '{{ (semver "1.2.3").IncMajor }} {{ (semver "1.2.3").IncMinor }} {{ (semver "1.2.3-rc").IncPatch }} {{ (semver "1.2.3").IncPatch }} {{ typeOf (semver "1.2.3").IncMajor }}',
  },
  {
    name: 'semver comparisons',
    template:
      '{{ (semver "1.2.3").LessThan (semver "1.10.0") }} {{ (semver "1.0.0-alpha").LessThan (semver "1.0.0") }} {{ (semver "1.0.0").Equal (semver "v1.0") }} {{ (semver "2.0.0").Compare (semver "1.0.0") }}',
  },
  { name: 'semver of an invalid version fails', template: '{{ semver "1.2.3.4" }}' },
  { name: 'semver leading zero prerelease fails', template: '{{ semver "1.2.3-01" }}' },
  {
    name: 'semverCompare basics',
    template:
      '{{ semverCompare ">=1.2.0" "1.2.3" }} {{ semverCompare "<1.2.0" "1.2.3" }} {{ semverCompare "1.2.3" "1.2.3" }} {{ semverCompare "!=1.2.3" "1.2.3" }} {{ semverCompare "=1.2.3" "v1.2.3" }}',
  },
  {
    name: 'semverCompare ranges',
    template:
      '{{ semverCompare "~1.2.0" "1.2.9" }} {{ semverCompare "~1.2.0" "1.3.0" }} {{ semverCompare "^1.2.0" "1.9.0" }} {{ semverCompare "^1.2.0" "2.0.0" }} {{ semverCompare "^0.2.3" "0.2.5" }} {{ semverCompare "^0.2.3" "0.3.0" }}',
  },
  {
    name: 'semverCompare wildcards',
    template:
      '{{ semverCompare "1.2.x" "1.2.7" }} {{ semverCompare "1.x" "1.9.0" }} {{ semverCompare "*" "4.0.0" }} {{ semverCompare ">1.x" "2.0.0" }} {{ semverCompare "<=1.2.x" "1.2.9" }} {{ semverCompare "!=1.2.x" "1.3.0" }}',
  },
  {
    name: 'semverCompare and or hyphen',
    template:
      '{{ semverCompare ">=1.0, <2.0" "1.5.0" }} {{ semverCompare ">=1.0 <2.0" "2.5.0" }} {{ semverCompare "<1.0 || >=3.0" "3.1.0" }} {{ semverCompare "1.1 - 1.3" "1.2.5" }} {{ semverCompare "1.1 - 1.3" "1.4.0" }}',
  },
  {
    name: 'semverCompare prereleases',
    template:
      '{{ semverCompare ">=1.0.0" "1.2.0-beta" }} {{ semverCompare ">=1.0.0-0" "1.2.0-beta" }} {{ semverCompare "~1.2.0-alpha" "1.2.0-beta" }} {{ semverCompare "^1.2.0-rc.1" "1.2.0-rc.10" }}',
  },
  { name: 'semverCompare with a bad constraint fails', template: '{{ semverCompare "=>>1.0" "1.0.0" }}' },
  { name: 'semverCompare with a bad version fails', template: '{{ semverCompare ">1.0" "one" }}' },
];
