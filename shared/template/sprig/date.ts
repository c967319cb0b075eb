// Sprig's date functions (date.go) over time.ts. A number that is not a Go int (JSON numbers are
// float64) is not a date to sprig: it formats the current time, as Go does.
import { GoInt, type Value } from '../value.js';
import { def, fail, str } from './go.js';
import { goParseInt } from './strconv.js';
import {
  durationString,
  formatTime,
  GoTime,
  loadLocation,
  parseDuration,
  parseTime,
  roundDuration,
  since,
  UTC,
} from './time.js';

const SECOND = 1_000_000_000n;

function timeArg(v: Value, accept: readonly string[]): GoTime {
  if (v instanceof GoTime) return v;
  if (v instanceof GoInt && accept.includes(v.type)) return new GoTime(Number(v.value), 0, UTC);
  return GoTime.now();
}

function dateInZone(layout: string, date: Value, zone: string): string {
  const t = timeArg(date, ['int64', 'int', 'int32']);
  const loc = loadLocation(zone) ?? UTC;
  return formatTime(t.in(loc), layout);
}

function asTime(v: Value): GoTime {
  if (v instanceof GoTime) return v;
  return fail('wrong type for value; expected time.Time');
}

function durationRound(v: Value): string {
  let d = 0n;
  if (typeof v === 'string') d = parseDuration(v) ?? 0n;
  else if (v instanceof GoInt && v.type === 'int64') d = v.value;
  else if (v instanceof GoTime) d = since(v);
  let u = BigInt.asUintN(64, d);
  if (d < 0n) u = BigInt.asUintN(64, -u);
  const hour = 3600n * SECOND;
  const units: [bigint, string][] = [
    [hour * 24n * 365n, 'y'],
    [hour * 24n * 30n, 'mo'],
    [hour * 24n, 'd'],
    [hour, 'h'],
    [60n * SECOND, 'm'],
    [SECOND, 's'],
  ];
  for (const [size, suffix] of units) if (u > size) return `${u / size}${suffix}`;
  return '0s';
}

export function dateFuncs() {
  const modify = def(['string', 'time.Time'], 'time.Time', (f, date) => {
    const t = asTime(date);
    const d = parseDuration(str(f));
    return d === undefined ? t : addDuration(t, d);
  });
  const mustModify = def(
    ['string', 'time.Time'],
    'time.Time',
    (f, date) => {
      const d = parseDuration(str(f));
      if (d === undefined) fail(`time: invalid duration ${JSON.stringify(str(f))}`);
      return addDuration(asTime(date), d);
    },
    { canFail: true },
  );
  const inZone = def(['string', 'interface {}', 'string'], 'string', (f, d, z) =>
    dateInZone(str(f), d, str(z)),
  );
  return {
    ago: def(['interface {}'], 'string', (date) => {
      const t = timeArg(date, ['int64', 'int']);
      return durationString(roundDuration(since(t), SECOND));
    }),
    date: def(['string', 'interface {}'], 'string', (f, d) => dateInZone(str(f), d, 'Local')),
    date_in_zone: inZone,
    dateInZone: inZone,
    date_modify: modify,
    dateModify: modify,
    must_date_modify: mustModify,
    mustDateModify: mustModify,
    duration: def(['interface {}'], 'string', (v) => {
      let n = 0n;
      if (typeof v === 'string') n = goParseInt(v, 10, 64)?.value ?? 0n;
      else if (v instanceof GoInt && v.type === 'int64') n = v.value;
      return durationString(BigInt.asIntN(64, n * SECOND));
    }),
    durationRound: def(['interface {}'], 'string', (v) => durationRound(v)),
    htmlDate: def(['interface {}'], 'string', (d) => dateInZone('2006-01-02', d, 'Local')),
    htmlDateInZone: def(['interface {}', 'string'], 'string', (d, z) => dateInZone('2006-01-02', d, str(z))),
    now: def([], 'time.Time', () => GoTime.now()),
    toDate: def(['string', 'string'], 'time.Time', (f, s) => parseTime(str(f), str(s)) ?? GoTime.zero()),
    mustToDate: def(
      ['string', 'string'],
      'time.Time',
      (f, s) =>
        parseTime(str(f), str(s)) ??
        fail(`parsing time ${JSON.stringify(str(s))} as ${JSON.stringify(str(f))}: cannot parse`),
      { canFail: true },
    ),
    unixEpoch: def(['time.Time'], 'string', (d) => String(asTime(d).sec)),
  };
}

function addDuration(t: GoTime, d: bigint): GoTime {
  const total = BigInt(t.nsec) + d;
  const secs = total >= 0n ? total / SECOND : -((-total + SECOND - 1n) / SECOND);
  const nsec = Number(total - secs * SECOND);
  return new GoTime(t.sec + Number(secs), nsec, t.loc, t.mono);
}
