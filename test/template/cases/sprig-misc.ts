// Sprig's date, path, URL and digest functions on fixed inputs (the clock and randomness are
// covered by unit tests): Go's time layouts and parsing, zones, durations; path.Clean & co.;
// net/url parsing and joining; SHA-1/SHA-256/Adler-32; AES decryption of Go's ciphertext.
import type { TemplateCase } from './case.js';

const when = { ts: 1700000000, day: '2024-02-29', stamp: '2023-11-14T22:13:20Z' };

export const cases: TemplateCase[] = [
  {
    name: 'toDate prints as time.Time',
    template: '{{ toDate "2006-01-02" "2020-05-01" }} {{ typeOf (toDate "2006-01-02" "2020-05-01") }}',
  },
  { name: 'toDate with a bad value is the zero time', template: '{{ toDate "2006-01-02" "not a date" }}' },
  { name: 'mustToDate fails on a bad value', template: '{{ mustToDate "2006-01-02" "2020-13-01" }}' },
  {
    name: 'date layouts',
    template:
      '{{ $t := toDate "2006-01-02 15:04:05" "2024-02-29 13:05:09" }}{{ date "Mon Jan 2 15:04:05 MST 2006" $t }}|{{ date "January _2, 06 3:4:5 PM" $t }}|{{ date "002 __2 Monday pm" $t }}',
  },
  {
    name: 'date numeric zones and fractions',
    template:
      '{{ $t := toDate "2006-01-02T15:04:05.999999999Z07:00" "2023-11-14T22:13:20.123456789+05:30" }}{{ $t }}|{{ date "-07:00 Z07:00 -0700 .000 .999999 ,000" $t }}',
  },
  {
    name: 'toDate with a zone abbreviation and an offset',
    template:
      '{{ toDate "2006-01-02 15:04 MST" "2020-01-01 10:00 PST" }}|{{ toDate "2006-01-02 15:04 -0700" "2020-01-01 10:00 -0700" }}|{{ toDate "2006-01-02 MST" "2020-01-01 GMT+3" }}',
  },
  {
    name: 'toDate layouts with names and fractions',
    template:
      '{{ toDate "Jan 2 2006 3:04PM" "Feb 3 2021 4:05PM" }}|{{ toDate "2006-01-02 15:04:05" "2021-02-03 04:05:06.789" }}|{{ toDate "Monday, 02-Jan-06" "Wednesday, 03-Feb-21" }}',
  },
  {
    name: 'toDate range errors give the zero time',
    template: '{{ toDate "2006-01-02" "2021-02-30" }}|{{ toDate "15:04" "25:00" }}',
  },
  {
    name: 'date of an int is Unix seconds',
    template:
      '{{ date "2006-01-02 15:04:05" (int .ts) }} {{ date "2006-01-02" (int64 .ts) }} {{ htmlDate (int .ts) }}',
    values: when,
  },
  {
    name: 'dateInZone',
    template:
      '{{ dateInZone "2006-01-02 15:04 MST" (int .ts) "UTC" }}|{{ dateInZone "2006-01-02 15:04 -0700" (int .ts) "America/New_York" }}|{{ date_in_zone "15:04 -07:00" (int .ts) "Asia/Kolkata" }}',
    values: when,
  },
  {
    name: 'dateInZone abbreviations',
    template:
      '{{ dateInZone "MST" (int .ts) "Europe/Berlin" }} {{ dateInZone "MST" (int .ts) "America/Los_Angeles" }} {{ dateInZone "MST" (int .ts) "Asia/Dubai" }}',
    values: when,
  },
  {
    name: 'dateInZone with an unknown zone uses UTC',
    template:
      '{{ dateInZone "15:04 MST" (int .ts) "Nowhere/City" }} {{ htmlDateInZone (int .ts) "bad zone" }}',
    values: when,
  },
  {
    name: 'dateModify',
    template:
      '{{ $t := toDate "2006-01-02" "2020-01-01" }}{{ dateModify "1h30m" $t }}|{{ date_modify "-48h" $t }}|{{ dateModify "bad" $t }}|{{ mustDateModify "1.5s" $t }}',
  },
  {
    name: 'mustDateModify fails on a bad duration',
    template: '{{ mustDateModify "5 minutes" (toDate "2006-01-02" "2020-01-01") }}',
  },
  { name: 'dateModify needs a time', template: '{{ dateModify "1h" "2020-01-01" }}' },
  {
    name: 'unixEpoch',
    template:
      '{{ unixEpoch (toDate "2006-01-02T15:04:05Z07:00" .stamp) }} {{ toDate "2006-01-02" .day | unixEpoch }}',
    values: when,
  },
  {
    name: 'duration',
    template:
      '{{ duration "95" }} {{ duration (int64 3661) }} {{ duration 95 }} {{ duration "x" }} {{ duration (int64 -1) }} {{ duration (int64 90061) }}',
  },
  {
    name: 'duration of an overflowing string wraps like Go',
    template:
      '{{ duration "99999999999999999999" }} {{ duration "99999999999999999999x" }} {{ int "99999999999999999999x" }} {{ atoi "99999999999999999999" }}',
  },
  {
    name: 'durationRound',
    template:
      '{{ durationRound "2h10m" }} {{ durationRound "26h" }} {{ durationRound (int64 1500000000) }} {{ durationRound "-400h" }} {{ durationRound "1s" }} {{ durationRound "800000h" }} {{ durationRound 3 }}',
  },
  {
    name: 'time methods',
    template:
      '{{ $t := toDate "2006-01-02 15:04:05" "2024-02-29 13:05:09" }}{{ $t.Year }} {{ $t.Month }} {{ $t.Day }} {{ $t.Hour }} {{ $t.Minute }} {{ $t.Second }} {{ $t.Weekday }} {{ $t.YearDay }} {{ $t.Unix }} {{ $t.Format "Jan 2" }}',
  },
  {
    name: 'time in JSON',
    template:
      '{{ toJson (toDate "2006-01-02" "2020-05-01") }} {{ toJson (dict "t" (toDate "2006-01-02 15:04:05.000" "2020-05-01 01:02:03.450")) }}',
  },
  {
    name: 'base dir clean ext isAbs',
    template:
      '{{ base "/a/b/c.txt" }} {{ dir "/a/b/c.txt" }} {{ clean "/a/../b/./c//" }} {{ ext "x.tar.gz" }} {{ isAbs "/x" }} {{ isAbs "x" }}',
  },
  {
    name: 'path edge cases',
    template:
      '{{ base "" }} {{ base "/" }} {{ base "a/b/" }} {{ dir "" }} {{ dir "a" }} {{ dir "/a" }} {{ clean "" }} {{ clean "../../a/.." }} {{ clean "a/b/../../.." }} {{ ext "a.b/c" }}',
  },
  {
    name: 'os path functions',
    template:
      '{{ osBase "/a/b" }} {{ osDir "/a/b" }} {{ osClean "a//b/" }} {{ osExt "f.yaml" }} {{ osIsAbs "/" }}',
  },
  {
    name: 'urlParse',
    template: '{{ urlParse "https://user:pa%20ss@example.com:8443/p/a%2Fth?q=1&r=%20#frag%21" }}',
  },
  {
    name: 'urlParse fields',
    template:
      '{{ $u := urlParse "http://[::1]:80/x" }}{{ $u.host }} {{ $u.hostname }} {{ $u.path }} {{ (urlParse "mailto:joe@example.com").opaque }} {{ (urlParse "/rel/path?x").query }}',
  },
  { name: 'urlParse of a bad URL fails', template: '{{ urlParse "http://a b.com/" }}' },
  {
    name: 'urlJoin',
    template:
      '{{ urlJoin (dict "scheme" "https" "host" "example.com:8080" "path" "/a b/ü" "query" "x=1" "fragment" "top part" "userinfo" "me:se%20cret") }}',
  },
  {
    name: 'urlJoin with a bad userinfo fails',
    template: '{{ urlJoin (dict "host" "h" "userinfo" "me:sec ret") }}',
  },
  {
    name: 'urlJoin partial and round trip',
    template:
      '{{ urlJoin (dict "path" "rel/x") }} {{ urlJoin (dict "host" "h" "path" "p") }} {{ urlJoin (urlParse "https://a.example/b?c#d") }} {{ urlJoin (dict) }}',
  },
  { name: 'urlJoin with a non-string fails', template: '{{ urlJoin (dict "host" 1) }}' },
  {
    name: 'sha1sum sha256sum adler32sum',
    template:
      '{{ sha1sum "hello" }} {{ sha256sum "hello" }} {{ adler32sum "hello" }} {{ sha256sum "" }} {{ adler32sum "" }}',
  },
  {
    name: 'digests of long and unicode text',
    template:
      '{{ repeat 1000 "héllo" | sha1sum }} {{ repeat 1000 "héllo" | sha256sum }} {{ repeat 1000 "héllo" | adler32sum }}',
  },
  {
    name: 'decryptAES of Go ciphertext',
    template: '{{ decryptAES "secretkey" "TVXx9PBudN/VFfrEndpI4bWyzA/woG3cPc8WTcSvIc8=" }}',
  },
  {
    name: 'decryptAES with a wrong key fails on the padding',
    template: '{{ decryptAES "wrongkey" "TVXx9PBudN/VFfrEndpI4bWyzA/woG3cPc8WTcSvIc8=" }}',
  },
  {
    name: 'encryptAES round trip',
    template:
      '{{ encryptAES "k" "the message" | decryptAES "k" }} [{{ encryptAES "k" "" }}] [{{ decryptAES "k" "" }}]',
  },
  { name: 'decryptAES of bad input fails', template: '{{ decryptAES "k" "AAAA" }}' },
  {
    name: 'uuidv4 shape',
    template:
      '{{ uuidv4 | len }} {{ regexMatch "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" uuidv4 }}',
  },
  {
    name: 'random strings shape',
    template:
      '{{ randAlphaNum 12 | len }} {{ randAlpha 5 | regexMatch "^[a-zA-Z]{5}$" }} {{ randNumeric 4 | regexMatch "^[0-9]{4}$" }} {{ randAscii 7 | len }} [{{ randAlpha 0 }}] [{{ randAlpha -1 }}]',
  },
  {
    name: 'randBytes shape',
    template: '{{ randBytes 12 | len }} {{ randBytes 12 | b64dec | len }} {{ randBytes 0 }}',
  },
  {
    name: 'shuffle keeps the letters',
    template: '{{ shuffle "aabbc" | splitList "" | sortAlpha | join "" }}',
  },
  {
    name: 'now and ago have Go types',
    template: '{{ typeOf now }} {{ now | date "2006" | len }} {{ ago now }} {{ now | unixEpoch | len }}',
  },
  { name: 'env expandenv getHostByName do not exist', template: '{{ env "HOME" }}' },
  { name: 'expandenv does not exist', template: '{{ expandenv "$HOME" }}' },
  { name: 'getHostByName does not exist', template: '{{ getHostByName "localhost" }}' },
];
