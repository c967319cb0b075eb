// Go's time.Time for templates: instants with a location, Go's layout-based Format and Parse,
// Duration's String and ParseDuration. The server's "Local" zone is UTC; named zones come from
// the platform's Intl time zone data.
import { GoInt, type GoObject, type Value } from '../value.js';
import { def, str } from './go.js';
import { jsonString } from './json.js';

// --- locations -------------------------------------------------------------------------------------

interface Zone {
  abbr: string;
  offset: number;
}

interface Location {
  readonly name: string;
  lookup(unixSec: number): Zone;
}

export const UTC: Location = { name: 'UTC', lookup: () => ({ abbr: 'UTC', offset: 0 }) };
/** Go's Local on a UTC machine, which is what the reference renderer runs on. */
const LOCAL: Location = { name: 'Local', lookup: () => ({ abbr: 'UTC', offset: 0 }) };

function fixedZone(name: string, offset: number): Location {
  return { name, lookup: () => ({ abbr: name, offset }) };
}

// Zone abbreviations of tzdata (as Go prints them) where Intl's English names are "GMT+n" or
// differ: "std/dst" (or one name) and the zones using them.
const TZDATA_ABBREVIATIONS: Record<string, string> = {
  EAT: 'Africa/Addis_Ababa Africa/Asmera Africa/Dar_es_Salaam Africa/Djibouti Africa/Kampala Africa/Mogadishu Indian/Antananarivo Indian/Comoro Indian/Mayotte Africa/Nairobi',
  WAT: 'Africa/Bangui Africa/Brazzaville Africa/Douala Africa/Kinshasa Africa/Libreville Africa/Luanda Africa/Malabo Africa/Ndjamena Africa/Niamey Africa/Porto-Novo Africa/Lagos',
  CAT: 'Africa/Blantyre Africa/Bujumbura Africa/Gaborone Africa/Harare Africa/Juba Africa/Khartoum Africa/Kigali Africa/Lubumbashi Africa/Lusaka Africa/Maputo Africa/Windhoek',
  SAST: 'Africa/Maseru Africa/Mbabane Africa/Johannesburg',
  'HST/HDT': 'America/Adak',
  MST: 'America/Dawson America/Hermosillo America/Mazatlan America/Whitehorse',
  'CST/CDT': 'America/Havana Asia/Shanghai',
  'NST/NDT': 'America/St_Johns',
  'AEST/AEDT':
    'Antarctica/Macquarie Australia/Hobart Australia/Sydney Australia/Melbourne Australia/Brisbane',
  'NZST/NZDT': 'Antarctica/McMurdo Pacific/Auckland',
  '+00/+02': 'Antarctica/Troll',
  WIT: 'Asia/Jayapura',
  CST: 'Asia/Macau Asia/Taipei',
  WITA: 'Asia/Makassar',
  WIB: 'Asia/Pontianak Asia/Jakarta',
  KST: 'Asia/Pyongyang Asia/Seoul',
  'ACST/ACDT': 'Australia/Broken_Hill Australia/Adelaide Australia/Darwin',
  AEST: 'Australia/Lindeman',
  'GMT/IST': 'Europe/Dublin',
  'GMT/BST': 'Europe/Guernsey Europe/Isle_of_Man Europe/Jersey',
  MSK: 'Europe/Kirov Europe/Simferopol Europe/Volgograd Europe/Moscow',
  ChST: 'Pacific/Guam Pacific/Saipan',
  SST: 'Pacific/Midway Pacific/Pago_Pago',
  JST: 'Asia/Tokyo',
  IST: 'Asia/Kolkata Asia/Calcutta',
  HKT: 'Asia/Hong_Kong',
  'IST/IDT': 'Asia/Jerusalem',
  PKT: 'Asia/Karachi',
  PST: 'Asia/Manila',
  AWST: 'Australia/Perth',
  'EET/EEST': 'Africa/Cairo',
};

function knownAbbreviations(zone: string): [string, string] | undefined {
  for (const [names, zones] of Object.entries(TZDATA_ABBREVIATIONS)) {
    if (zones.split(' ').includes(zone)) {
      const [std = '', dst = std] = names.split('/');
      return [std, dst];
    }
  }
  return undefined;
}
const EUROPEAN = new Set(['CET', 'CEST', 'EET', 'EEST', 'WET', 'WEST', 'BST', 'IST', 'GMT']);

function intlZone(name: string): Location | undefined {
  if (!/^[A-Z][A-Za-z0-9_+-]*(\/[A-Z0-9][A-Za-z0-9_+-]*)*$/.test(name)) return undefined;
  let us: Intl.DateTimeFormat;
  let gb: Intl.DateTimeFormat;
  try {
    const options: Intl.DateTimeFormatOptions = {
      timeZone: name,
      timeZoneName: 'short',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    };
    us = new Intl.DateTimeFormat('en-US', options);
    gb = new Intl.DateTimeFormat('en-GB', { timeZone: name, timeZoneName: 'short' });
  } catch {
    return undefined;
  }
  const cache = new Map<number, Zone>();
  return {
    name,
    lookup(unixSec: number): Zone {
      const ms = Math.max(-8.64e15, Math.min(8.64e15, Math.floor(unixSec) * 1000));
      const hourKey = Math.floor(ms / 3_600_000);
      const cached = cache.get(hourKey);
      if (cached) return cached;
      const parts = us.formatToParts(new Date(ms));
      const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
      let year = Number(get('year'));
      if (get('era').startsWith('B')) year = 1 - year;
      const wall = Date.UTC(
        year,
        Number(get('month')) - 1,
        Number(get('day')),
        Number(get('hour')),
        Number(get('minute')),
        Number(get('second')),
      );
      const civil = new Date(0);
      civil.setUTCFullYear(year, Number(get('month')) - 1, Number(get('day')));
      civil.setUTCHours(Number(get('hour')), Number(get('minute')), Number(get('second')), 0);
      const offset = Math.round((civil.getTime() - ms) / 1000) || Math.round((wall - ms) / 1000);
      const zone = { abbr: abbreviation(name, get('timeZoneName'), gb, ms, offset), offset };
      cache.set(hourKey, zone);
      return zone;
    },
  };
}

function abbreviation(name: string, us: string, gb: Intl.DateTimeFormat, ms: number, offset: number): string {
  const known = knownAbbreviations(name);
  if (known) return offset > standardOffset(name, ms) ? known[1] : known[0];
  if (!us.startsWith('GMT') || us === 'GMT') return us;
  const british = gb.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? '';
  if (EUROPEAN.has(british)) return british;
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const h = String(Math.floor(abs / 3600)).padStart(2, '0');
  const m = Math.floor((abs % 3600) / 60);
  return m === 0 ? `${sign}${h}` : `${sign}${h}${String(m).padStart(2, '0')}`;
}

// The smaller of the zone's January and July offsets in the year of ms: its standard time.
function standardOffset(name: string, ms: number): number {
  const year = new Date(ms).getUTCFullYear();
  const f = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
  const off = (d: number) => {
    const v = f.formatToParts(new Date(d)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /GMT([+-])(\d\d):(\d\d)/.exec(v);
    return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60) : 0;
  };
  return Math.min(off(Date.UTC(year, 0, 1)), off(Date.UTC(year, 6, 1)));
}

/** time.LoadLocation; undefined where Go returns an error. */
export function loadLocation(name: string): Location | undefined {
  if (name === '' || name === 'UTC') return UTC;
  if (name === 'Local') return LOCAL;
  if (name.includes('..') || name.startsWith('/') || name.startsWith('\\')) return undefined;
  return intlZone(name);
}

// --- civil calendar ---------------------------------------------------------------------------------

const floorDiv = (a: number, b: number): number => Math.floor(a / b);
const mod = (a: number, b: number): number => ((a % b) + b) % b;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const doy = floorDiv(153 * (m + (m > 2 ? -3 : 9)) + 2, 5) + d - 1;
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const d = doy - floorDiv(153 * mp + 2, 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? y + 1 : y, m, d];
}

const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
const daysIn = (m: number, y: number): number =>
  m === 2 && isLeap(y) ? 29 : (DAYS_BEFORE[m] ?? 0) - (DAYS_BEFORE[m - 1] ?? 0);

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// --- time.Time ----------------------------------------------------------------------------------------

/** A Go time.Time: whole Unix seconds, nanoseconds, a location, and a monotonic reading for now(). */
export class GoTime implements GoObject {
  readonly goType = 'time.Time';
  readonly goKind = 'struct';

  constructor(
    readonly sec: number,
    readonly nsec: number,
    readonly loc: Location,
    readonly mono?: number,
  ) {}

  static zero(): GoTime {
    return new GoTime(daysFromCivil(1, 1, 1) * 86400, 0, UTC);
  }

  static now(): GoTime {
    const ms = Date.now();
    const mono = typeof performance !== 'undefined' ? performance.now() / 1000 : 0;
    const micro = Math.floor((typeof performance !== 'undefined' ? performance.now() * 1000 : 0) % 1000);
    return new GoTime(Math.floor(ms / 1000), (ms % 1000) * 1e6 + micro * 1e3, LOCAL, mono);
  }

  /** time.Date, normalising out-of-range fields, in loc. */
  static date(
    y: number,
    mo: number,
    d: number,
    h: number,
    mi: number,
    s: number,
    ns: number,
    loc: Location,
  ): GoTime {
    const m0 = mo - 1;
    y += floorDiv(m0, 12);
    const m = mod(m0, 12) + 1;
    s += floorDiv(ns, 1e9);
    ns = mod(ns, 1e9);
    let unix = (daysFromCivil(y, m, 1) + d - 1) * 86400 + h * 3600 + mi * 60 + s;
    const guess = loc.lookup(unix).offset;
    unix -= guess;
    const actual = loc.lookup(unix).offset;
    if (actual !== guess) unix += guess - actual;
    return new GoTime(unix, ns, loc);
  }

  in(loc: Location): GoTime {
    return new GoTime(this.sec, this.nsec, loc, this.mono);
  }

  get zone(): Zone {
    return this.loc.lookup(this.sec);
  }

  /** Seconds of the wall clock in the time's zone, since the epoch. */
  private get abs(): number {
    return this.sec + this.zone.offset;
  }

  civil(): {
    year: number;
    month: number;
    day: number;
    yday: number;
    hour: number;
    min: number;
    sec: number;
    wday: number;
  } {
    const abs = this.abs;
    const days = floorDiv(abs, 86400);
    const [year, month, day] = civilFromDays(days);
    const secOfDay = abs - days * 86400;
    return {
      year,
      month,
      day,
      yday: days - daysFromCivil(year, 1, 1) + 1,
      hour: floorDiv(secOfDay, 3600),
      min: floorDiv(secOfDay % 3600, 60),
      sec: secOfDay % 60,
      wday: mod(days + 4, 7),
    };
  }

  format(): string {
    let s = formatTime(this, '2006-01-02 15:04:05.999999999 -0700 MST');
    if (this.mono !== undefined) {
      const ns = Math.round(this.mono * 1e9);
      s += ` m=${ns < 0 ? '-' : '+'}${Math.floor(Math.abs(ns) / 1e9)}.${String(Math.abs(ns) % 1e9).padStart(9, '0')}`;
    }
    return s;
  }

  marshalJson(escapeHtml: boolean): string {
    const y = this.civil().year;
    if (y < 0 || y > 9999) throw new Error('Time.MarshalJSON: year outside of range [0,9999]');
    return jsonString(formatTime(this, '2006-01-02T15:04:05.999999999Z07:00'), escapeHtml);
  }

  field(): undefined {
    return undefined;
  }

  method(name: string) {
    const intResult = (f: () => number) => def([], 'int', () => new GoInt(BigInt(f()), 'int'));
    switch (name) {
      case 'Format':
        return def(['string'], 'string', (layout) => formatTime(this, str(layout)));
      case 'String':
        return def([], 'string', () => this.format());
      case 'Year':
        return intResult(() => this.civil().year);
      case 'Month':
        return def([], 'time.Month', () => enumValue('time.Month', MONTHS[this.civil().month - 1] ?? ''));
      case 'Day':
        return intResult(() => this.civil().day);
      case 'YearDay':
        return intResult(() => this.civil().yday);
      case 'Weekday':
        return def([], 'time.Weekday', () => enumValue('time.Weekday', DAYS[this.civil().wday] ?? ''));
      case 'Hour':
        return intResult(() => this.civil().hour);
      case 'Minute':
        return intResult(() => this.civil().min);
      case 'Second':
        return intResult(() => this.civil().sec);
      case 'Nanosecond':
        return intResult(() => this.nsec);
      case 'Unix':
        return def([], 'int64', () => new GoInt(BigInt(this.sec), 'int64'));
      case 'UnixMilli':
        return def(
          [],
          'int64',
          () => new GoInt(BigInt(this.sec) * 1000n + BigInt(Math.floor(this.nsec / 1e6)), 'int64'),
        );
      case 'UnixNano':
        return def(
          [],
          'int64',
          () => new GoInt(BigInt.asIntN(64, BigInt(this.sec) * 1_000_000_000n + BigInt(this.nsec)), 'int64'),
        );
      case 'UTC':
        return def([], 'time.Time', () => new GoTime(this.sec, this.nsec, UTC));
      case 'Local':
        return def([], 'time.Time', () => new GoTime(this.sec, this.nsec, LOCAL));
      case 'IsZero':
        return def([], 'bool', () => this.sec === GoTime.zero().sec && this.nsec === 0);
      case 'Before':
      case 'After':
      case 'Equal':
        return def(['time.Time'], 'bool', (o) => {
          const u = o as unknown as GoTime;
          const c = this.sec !== u.sec ? Math.sign(this.sec - u.sec) : Math.sign(this.nsec - u.nsec);
          return name === 'Before' ? c < 0 : name === 'After' ? c > 0 : c === 0;
        });
      case 'AddDate':
        return def(['int', 'int', 'int'], 'time.Time', (y, m, d) => {
          const c = this.civil();
          const n = (v: Value) => Number((v as GoInt).value);
          return GoTime.date(
            c.year + n(y),
            c.month + n(m),
            c.day + n(d),
            c.hour,
            c.min,
            c.sec,
            this.nsec,
            this.loc,
          );
        });
      default:
        return undefined;
    }
  }
}

/** A Go integer type with a String method (time.Month, time.Weekday). */
function enumValue(goType: string, name: string): GoObject {
  return { goType, goKind: 'int', format: () => name };
}

// --- layouts --------------------------------------------------------------------------------------

enum Std {
  None = 0,
  LongMonth,
  Month,
  NumMonth,
  ZeroMonth,
  LongWeekDay,
  WeekDay,
  Day,
  UnderDay,
  ZeroDay,
  UnderYearDay,
  ZeroYearDay,
  Hour,
  Hour12,
  ZeroHour12,
  Minute,
  ZeroMinute,
  Second,
  ZeroSecond,
  LongYear,
  Year,
  PM,
  pm,
  TZ,
  ISO8601TZ,
  ISO8601SecondsTZ,
  ISO8601ShortTZ,
  ISO8601ColonTZ,
  ISO8601ColonSecondsTZ,
  NumTZ,
  NumSecondsTz,
  NumShortTZ,
  NumColonTZ,
  NumColonSecondsTZ,
  FracSecond0,
  FracSecond9,
}

interface Chunk {
  prefix: string;
  std: Std;
  suffix: string;
  /** Digits of a fractional-second element, and its separator. */
  digits?: number;
  sep?: string;
}

const STD0X = [Std.ZeroMonth, Std.ZeroDay, Std.ZeroHour12, Std.ZeroMinute, Std.ZeroSecond, Std.Year];
const isDigitAt = (s: string, i: number): boolean =>
  i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;
const startsWithLower = (s: string): boolean =>
  s.length > 0 && s.charCodeAt(0) >= 97 && s.charCodeAt(0) <= 122;

/** time.nextStdChunk. */
function nextStdChunk(layout: string): Chunk {
  const at = (i: number, std: Std, len: number): Chunk => ({
    prefix: layout.slice(0, i),
    std,
    suffix: layout.slice(i + len),
  });
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    const has = (s: string) => layout.startsWith(s, i);
    switch (c) {
      case 'J':
        if (has('Jan')) {
          if (has('January')) return at(i, Std.LongMonth, 7);
          if (!startsWithLower(layout.slice(i + 3))) return at(i, Std.Month, 3);
        }
        break;
      case 'M':
        if (has('Mon')) {
          if (has('Monday')) return at(i, Std.LongWeekDay, 6);
          if (!startsWithLower(layout.slice(i + 3))) return at(i, Std.WeekDay, 3);
        }
        if (has('MST')) return at(i, Std.TZ, 3);
        break;
      case '0': {
        const n = layout[i + 1];
        if (n !== undefined && n >= '1' && n <= '6') return at(i, STD0X[n.charCodeAt(0) - 49] as Std, 2);
        if (has('002')) return at(i, Std.ZeroYearDay, 3);
        break;
      }
      case '1':
        if (has('15')) return at(i, Std.Hour, 2);
        return at(i, Std.NumMonth, 1);
      case '2':
        if (has('2006')) return at(i, Std.LongYear, 4);
        return at(i, Std.Day, 1);
      case '_':
        if (layout[i + 1] === '2') {
          if (layout.startsWith('2006', i + 1))
            return { prefix: layout.slice(0, i + 1), std: Std.LongYear, suffix: layout.slice(i + 5) };
          return at(i, Std.UnderDay, 2);
        }
        if (has('__2')) return at(i, Std.UnderYearDay, 3);
        break;
      case '3':
        return at(i, Std.Hour12, 1);
      case '4':
        return at(i, Std.Minute, 1);
      case '5':
        return at(i, Std.Second, 1);
      case 'P':
        if (has('PM')) return at(i, Std.PM, 2);
        break;
      case 'p':
        if (has('pm')) return at(i, Std.pm, 2);
        break;
      case '-':
        if (has('-070000')) return at(i, Std.NumSecondsTz, 7);
        if (has('-07:00:00')) return at(i, Std.NumColonSecondsTZ, 9);
        if (has('-0700')) return at(i, Std.NumTZ, 5);
        if (has('-07:00')) return at(i, Std.NumColonTZ, 6);
        if (has('-07')) return at(i, Std.NumShortTZ, 3);
        break;
      case 'Z':
        if (has('Z070000')) return at(i, Std.ISO8601SecondsTZ, 7);
        if (has('Z07:00:00')) return at(i, Std.ISO8601ColonSecondsTZ, 9);
        if (has('Z0700')) return at(i, Std.ISO8601TZ, 5);
        if (has('Z07:00')) return at(i, Std.ISO8601ColonTZ, 6);
        if (has('Z07')) return at(i, Std.ISO8601ShortTZ, 3);
        break;
      case '.':
      case ',': {
        const ch = layout[i + 1];
        if (ch === '0' || ch === '9') {
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigitAt(layout, j)) {
            return {
              prefix: layout.slice(0, i),
              std: ch === '0' ? Std.FracSecond0 : Std.FracSecond9,
              suffix: layout.slice(j),
              digits: j - (i + 1),
              sep: c,
            };
          }
        }
        break;
      }
    }
  }
  return { prefix: layout, std: Std.None, suffix: '' };
}

function pad(n: number, width: number): string {
  const neg = n < 0;
  const s = String(Math.abs(n)).padStart(width, '0');
  return neg ? `-${s}` : s;
}

const ISO_TZ = new Set([
  Std.ISO8601TZ,
  Std.ISO8601ColonTZ,
  Std.ISO8601SecondsTZ,
  Std.ISO8601ShortTZ,
  Std.ISO8601ColonSecondsTZ,
]);
const NUM_TZ = new Set([
  ...ISO_TZ,
  Std.NumTZ,
  Std.NumColonTZ,
  Std.NumSecondsTz,
  Std.NumShortTZ,
  Std.NumColonSecondsTZ,
]);

/** Time.Format. */
export function formatTime(t: GoTime, layout: string): string {
  const { abbr, offset } = t.zone;
  const c = t.civil();
  let out = '';
  while (layout !== '') {
    const chunk = nextStdChunk(layout);
    out += chunk.prefix;
    if (chunk.std === Std.None) break;
    layout = chunk.suffix;
    const std = chunk.std;
    switch (std) {
      case Std.Year:
        out += pad(Math.abs(c.year) % 100, 2);
        break;
      case Std.LongYear:
        out += pad(c.year, 4);
        break;
      case Std.Month:
        out += MONTHS[c.month - 1]?.slice(0, 3);
        break;
      case Std.LongMonth:
        out += MONTHS[c.month - 1];
        break;
      case Std.NumMonth:
        out += c.month;
        break;
      case Std.ZeroMonth:
        out += pad(c.month, 2);
        break;
      case Std.WeekDay:
        out += DAYS[c.wday]?.slice(0, 3);
        break;
      case Std.LongWeekDay:
        out += DAYS[c.wday];
        break;
      case Std.Day:
        out += c.day;
        break;
      case Std.UnderDay:
        out += (c.day < 10 ? ' ' : '') + c.day;
        break;
      case Std.ZeroDay:
        out += pad(c.day, 2);
        break;
      case Std.UnderYearDay:
        out += (c.yday < 100 ? (c.yday < 10 ? '  ' : ' ') : '') + c.yday;
        break;
      case Std.ZeroYearDay:
        out += pad(c.yday, 3);
        break;
      case Std.Hour:
        out += pad(c.hour, 2);
        break;
      case Std.Hour12:
        out += c.hour % 12 === 0 ? 12 : c.hour % 12;
        break;
      case Std.ZeroHour12:
        out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2);
        break;
      case Std.Minute:
        out += c.min;
        break;
      case Std.ZeroMinute:
        out += pad(c.min, 2);
        break;
      case Std.Second:
        out += c.sec;
        break;
      case Std.ZeroSecond:
        out += pad(c.sec, 2);
        break;
      case Std.PM:
        out += c.hour >= 12 ? 'PM' : 'AM';
        break;
      case Std.pm:
        out += c.hour >= 12 ? 'pm' : 'am';
        break;
      case Std.TZ:
        if (abbr !== '') out += abbr;
        else {
          const zone = Math.trunc(offset / 60);
          out +=
            (zone < 0 ? '-' : '+') + pad(Math.trunc(Math.abs(zone) / 60), 2) + pad(Math.abs(zone) % 60, 2);
        }
        break;
      case Std.FracSecond0:
      case Std.FracSecond9: {
        let digits = String(t.nsec)
          .padStart(9, '0')
          .slice(0, Math.min(9, chunk.digits ?? 0));
        if (std === Std.FracSecond9) digits = digits.replace(/0+$/, '');
        if (digits !== '') out += (chunk.sep ?? '.') + digits;
        break;
      }
      default:
        if (NUM_TZ.has(std)) {
          if (offset === 0 && ISO_TZ.has(std)) {
            out += 'Z';
            break;
          }
          let zone = Math.trunc(offset / 60);
          let absoffset = offset;
          if (zone < 0) {
            out += '-';
            zone = -zone;
            absoffset = -absoffset;
          } else out += '+';
          out += pad(Math.trunc(zone / 60), 2);
          if (
            std === Std.ISO8601ColonTZ ||
            std === Std.NumColonTZ ||
            std === Std.ISO8601ColonSecondsTZ ||
            std === Std.NumColonSecondsTZ
          ) {
            out += ':';
          }
          if (std !== Std.NumShortTZ && std !== Std.ISO8601ShortTZ) out += pad(zone % 60, 2);
          if (
            std === Std.ISO8601SecondsTZ ||
            std === Std.NumSecondsTz ||
            std === Std.NumColonSecondsTZ ||
            std === Std.ISO8601ColonSecondsTZ
          ) {
            if (std === Std.NumColonSecondsTZ || std === Std.ISO8601ColonSecondsTZ) out += ':';
            out += pad(absoffset % 60, 2);
          }
        }
    }
  }
  return out;
}

// --- parsing --------------------------------------------------------------------------------------

class ParseError extends Error {}
const bad = (): never => {
  throw new ParseError('bad value');
};

function cutspace(s: string): string {
  let i = 0;
  while (i < s.length && s[i] === ' ') i++;
  return s.slice(i);
}

function skip(value: string, prefix: string): string {
  while (prefix.length > 0) {
    if (prefix[0] === ' ') {
      if (value.length > 0 && value[0] !== ' ') bad();
      prefix = cutspace(prefix);
      value = cutspace(value);
      continue;
    }
    if (value.length === 0 || value[0] !== prefix[0]) bad();
    prefix = prefix.slice(1);
    value = value.slice(1);
  }
  return value;
}

function lookup(tab: string[], val: string): [number, string] {
  for (let i = 0; i < tab.length; i++) {
    const v = tab[i] as string;
    if (val.length >= v.length && val.slice(0, v.length).toLowerCase() === v.toLowerCase())
      return [i, val.slice(v.length)];
  }
  return bad();
}

function getnum(s: string, fixed: boolean): [number, string] {
  if (!isDigitAt(s, 0)) bad();
  if (!isDigitAt(s, 1)) {
    if (fixed) bad();
    return [s.charCodeAt(0) - 48, s.slice(1)];
  }
  return [(s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + (s.charCodeAt(i) - 48);
  if (i === 0 || (fixed && i !== 3)) bad();
  return [n, s.slice(i)];
}

function atoi(s: string): number {
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (!/^[0-9]+$/.test(s) || s.length > 18) bad();
  const x = Number(s);
  return neg ? -x : x;
}

function parseNanoseconds(value: string, nbytes: number): number {
  if (value[0] !== '.' && value[0] !== ',') bad();
  if (nbytes > 10) {
    value = value.slice(0, 10);
    nbytes = 10;
  }
  let ns = atoi(value.slice(1, nbytes));
  if (ns < 0) bad();
  for (let i = 0; i < 10 - nbytes; i++) ns *= 10;
  return ns;
}

function leadingInt(s: string): [number, string] {
  let i = 0;
  while (isDigitAt(s, i)) i++;
  if (i > 18) bad();
  return [Number(s.slice(0, i)), s.slice(i)];
}

function parseSignedOffset(value: string): number {
  const sign = value[0];
  if (sign !== '-' && sign !== '+') return 0;
  let x: number;
  let rem: string;
  try {
    [x, rem] = leadingInt(value.slice(1));
  } catch {
    return 0;
  }
  if (value.slice(1) === rem || x > 23) return 0;
  return value.length - rem.length;
}

function parseTimeZone(value: string): number | undefined {
  if (value.length < 3) return undefined;
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4;
  if (value.startsWith('GMT')) return value.length === 3 ? 3 : 3 + parseSignedOffset(value.slice(3));
  if (value[0] === '+' || value[0] === '-') {
    const n = parseSignedOffset(value);
    return n > 0 ? n : undefined;
  }
  let nUpper = 0;
  while (
    nUpper < 6 &&
    nUpper < value.length &&
    value.charCodeAt(nUpper) >= 65 &&
    value.charCodeAt(nUpper) <= 90
  )
    nUpper++;
  switch (nUpper) {
    case 5:
      return value[4] === 'T' ? 5 : undefined;
    case 4:
      return value[3] === 'T' || value.startsWith('WITA') ? 4 : undefined;
    case 3:
      return 3;
    default:
      return undefined;
  }
}

/** time.ParseInLocation(layout, value, Local); undefined where Go returns an error. */
export function parseTime(layout: string, value: string): GoTime | undefined {
  try {
    return parse(layout, value);
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}

function parse(layout: string, value: string): GoTime {
  let amSet = false;
  let pmSet = false;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let z: Location | undefined;
  let zoneOffset = -1;
  let zoneName = '';
  const shortMonths = MONTHS.map((m) => m.slice(0, 3));
  const shortDays = DAYS.map((d) => d.slice(0, 3));
  for (;;) {
    const chunk = nextStdChunk(layout);
    value = skip(value, chunk.prefix);
    if (chunk.std === Std.None) {
      if (value.length !== 0) bad();
      break;
    }
    layout = chunk.suffix;
    const std = chunk.std;
    let p: string;
    switch (std) {
      case Std.Year: {
        if (value.length < 2) bad();
        p = value.slice(0, 2);
        const y = atoi(p);
        value = value.slice(2);
        year = y >= 69 ? y + 1900 : y + 2000;
        break;
      }
      case Std.LongYear:
        if (value.length < 4 || !isDigitAt(value, 0)) bad();
        year = atoi(value.slice(0, 4));
        value = value.slice(4);
        break;
      case Std.Month:
        [month, value] = lookup(shortMonths, value);
        month++;
        break;
      case Std.LongMonth:
        [month, value] = lookup(MONTHS, value);
        month++;
        break;
      case Std.NumMonth:
      case Std.ZeroMonth:
        [month, value] = getnum(value, std === Std.ZeroMonth);
        if (month <= 0 || month > 12) bad();
        break;
      case Std.WeekDay:
        [, value] = lookup(shortDays, value);
        break;
      case Std.LongWeekDay:
        [, value] = lookup(DAYS, value);
        break;
      case Std.Day:
      case Std.UnderDay:
      case Std.ZeroDay:
        if (std === Std.UnderDay && value[0] === ' ') value = value.slice(1);
        [day, value] = getnum(value, std === Std.ZeroDay);
        break;
      case Std.UnderYearDay:
      case Std.ZeroYearDay:
        for (let i = 0; i < 2; i++) if (std === Std.UnderYearDay && value[0] === ' ') value = value.slice(1);
        [yday, value] = getnum3(value, std === Std.ZeroYearDay);
        break;
      case Std.Hour:
        [hour, value] = getnum(value, false);
        if (hour < 0 || hour >= 24) bad();
        break;
      case Std.Hour12:
      case Std.ZeroHour12:
        [hour, value] = getnum(value, std === Std.ZeroHour12);
        if (hour < 0 || hour > 12) bad();
        break;
      case Std.Minute:
      case Std.ZeroMinute:
        [min, value] = getnum(value, std === Std.ZeroMinute);
        if (min < 0 || min >= 60) bad();
        break;
      case Std.Second:
      case Std.ZeroSecond: {
        [sec, value] = getnum(value, std === Std.ZeroSecond);
        if (sec < 0 || sec >= 60) bad();
        if (value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigitAt(value, 1)) {
          const next = nextStdChunk(layout).std;
          if (next === Std.FracSecond0 || next === Std.FracSecond9) break;
          let n = 2;
          while (n < value.length && isDigitAt(value, n)) n++;
          nsec = parseNanoseconds(value, n);
          value = value.slice(n);
        }
        break;
      }
      case Std.PM:
      case Std.pm: {
        if (value.length < 2) bad();
        p = value.slice(0, 2);
        value = value.slice(2);
        const [am, pm] = std === Std.PM ? ['AM', 'PM'] : ['am', 'pm'];
        if (p === pm) pmSet = true;
        else if (p === am) amSet = true;
        else bad();
        break;
      }
      case Std.TZ: {
        if (value.startsWith('UTC')) {
          z = UTC;
          value = value.slice(3);
          break;
        }
        const n = parseTimeZone(value);
        if (n === undefined) bad();
        zoneName = value.slice(0, n);
        value = value.slice(n);
        break;
      }
      case Std.FracSecond0: {
        const ndigit = 1 + (chunk.digits ?? 0);
        if (value.length < ndigit) bad();
        nsec = parseNanoseconds(value, ndigit);
        value = value.slice(ndigit);
        break;
      }
      case Std.FracSecond9: {
        if (value.length < 2 || (value[0] !== '.' && value[0] !== ',') || !isDigitAt(value, 1)) break;
        let i = 0;
        while (i < 9 && i + 1 < value.length && isDigitAt(value, i + 1)) i++;
        nsec = parseNanoseconds(value, 1 + i);
        value = value.slice(1 + i);
        break;
      }
      default: {
        if (
          (std === Std.ISO8601TZ || std === Std.ISO8601ShortTZ || std === Std.ISO8601ColonTZ) &&
          value[0] === 'Z'
        ) {
          value = value.slice(1);
          z = UTC;
          break;
        }
        let sign: string;
        let hh: string;
        let mm = '00';
        let ss = '00';
        if (std === Std.ISO8601ColonTZ || std === Std.NumColonTZ) {
          if (value.length < 6 || value[3] !== ':') bad();
          [sign, hh, mm, value] = [value.slice(0, 1), value.slice(1, 3), value.slice(4, 6), value.slice(6)];
        } else if (std === Std.NumShortTZ || std === Std.ISO8601ShortTZ) {
          if (value.length < 3) bad();
          [sign, hh, value] = [value.slice(0, 1), value.slice(1, 3), value.slice(3)];
        } else if (std === Std.ISO8601ColonSecondsTZ || std === Std.NumColonSecondsTZ) {
          if (value.length < 9 || value[3] !== ':' || value[6] !== ':') bad();
          [sign, hh, mm, ss, value] = [
            value.slice(0, 1),
            value.slice(1, 3),
            value.slice(4, 6),
            value.slice(7, 9),
            value.slice(9),
          ];
        } else if (std === Std.ISO8601SecondsTZ || std === Std.NumSecondsTz) {
          if (value.length < 7) bad();
          [sign, hh, mm, ss, value] = [
            value.slice(0, 1),
            value.slice(1, 3),
            value.slice(3, 5),
            value.slice(5, 7),
            value.slice(7),
          ];
        } else {
          if (value.length < 5) bad();
          [sign, hh, mm, value] = [value.slice(0, 1), value.slice(1, 3), value.slice(3, 5), value.slice(5)];
        }
        zoneOffset = (atoi(hh) * 60 + atoi(mm)) * 60 + atoi(ss);
        if (sign === '-') zoneOffset = -zoneOffset;
        else if (sign !== '+') bad();
      }
    }
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let d = 0;
    let m = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365) bad();
    if (m === 0) {
      m = floorDiv(yday - 1, 31) + 1;
      if ((DAYS_BEFORE[m] ?? 0) < yday) m++;
      d = yday - (DAYS_BEFORE[m - 1] ?? 0);
    }
    if (month >= 0 && month !== m) bad();
    month = m;
    if (day >= 0 && day !== d) bad();
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) bad();
  if (z) return GoTime.date(year, month, day, hour, min, sec, nsec, z);
  if (zoneOffset !== -1) {
    const t = GoTime.date(year, month, day, hour, min, sec, nsec, UTC);
    const at = t.sec - zoneOffset;
    const local = LOCAL.lookup(at);
    if (local.offset === zoneOffset && (zoneName === '' || local.abbr === zoneName))
      return new GoTime(at, t.nsec, LOCAL);
    return new GoTime(at, t.nsec, fixedZone(zoneName, zoneOffset));
  }
  if (zoneName !== '') {
    const t = GoTime.date(year, month, day, hour, min, sec, nsec, UTC);
    if (LOCAL.lookup(t.sec).abbr === zoneName) return new GoTime(t.sec, t.nsec, LOCAL);
    let offset = 0;
    if (zoneName.length > 3 && zoneName.startsWith('GMT')) offset = atoi(zoneName.slice(3)) * 3600;
    return new GoTime(t.sec, t.nsec, fixedZone(zoneName, offset));
  }
  return GoTime.date(year, month, day, hour, min, sec, nsec, LOCAL);
}

// --- durations ---------------------------------------------------------------------------------------

const SECOND = 1_000_000_000n;

/** Duration.String: "1h2m3.5s", "1.5ms", "0s". */
export function durationString(d: bigint): string {
  d = BigInt.asIntN(64, d);
  const neg = d < 0n;
  let u = neg ? -d : d;
  if (u === 0n) return '0s';
  const frac = (v: bigint, prec: number): [string, bigint] => {
    let digits = '';
    let print = false;
    for (let i = 0; i < prec; i++) {
      const digit = v % 10n;
      print ||= digit !== 0n;
      if (print) digits = digit.toString() + digits;
      v /= 10n;
    }
    return [print ? `.${digits}` : '', v];
  };
  let out: string;
  if (u < SECOND) {
    const [prec, unit] = u < 1000n ? [0, 'ns'] : u < 1_000_000n ? [3, 'µs'] : [6, 'ms'];
    const [f, v] = frac(u, prec);
    out = `${v}${f}${unit}`;
  } else {
    const [f, secs] = frac(u, 9);
    u = secs;
    out = `${u % 60n}${f}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  μs: 1000n,
  ms: 1_000_000n,
  s: SECOND,
  m: 60n * SECOND,
  h: 3600n * SECOND,
};

/** time.ParseDuration; undefined where Go returns an error. */
export function parseDuration(s: string): bigint | undefined {
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  const LIMIT = 1n << 63n;
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigitAt(s, 0))) return undefined;
    let i = 0;
    while (isDigitAt(s, i)) i++;
    const pre = i > 0;
    const intPart = s.slice(0, i);
    s = s.slice(i);
    let fracDigits = '';
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      while (isDigitAt(s, j)) j++;
      post = j > 0;
      fracDigits = s.slice(0, j);
      s = s.slice(j);
    }
    if (!pre && !post) return undefined;
    let k = 0;
    while (k < s.length && s[k] !== '.' && !isDigitAt(s, k)) k++;
    if (k === 0) return undefined;
    const name = s.slice(0, k);
    s = s.slice(k);
    if (!Object.hasOwn(UNITS, name)) return undefined;
    const unit = UNITS[name] as bigint;
    let v = intPart === '' ? 0n : BigInt(intPart);
    if (v > LIMIT / unit) return undefined;
    v *= unit;
    // Go keeps at most the fraction digits that fit in an int64, then scales in float64.
    let f = 0n;
    let scale = 1;
    for (const c of fracDigits) {
      const y = f * 10n + BigInt(c.charCodeAt(0) - 48);
      if (f > (LIMIT - 1n) / 10n || y > LIMIT) break;
      f = y;
      scale *= 10;
    }
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) return undefined;
    }
    d += v;
    if (d > LIMIT) return undefined;
  }
  if (neg) return -d;
  if (d > LIMIT - 1n) return undefined;
  return d;
}

/** Duration.Round. */
export function roundDuration(d: bigint, m: bigint): bigint {
  if (m <= 0n) return d;
  let r = d % m;
  const lessThanHalf = (x: bigint, y: bigint) => x + x < y;
  if (d < 0n) {
    r = -r;
    if (lessThanHalf(r, m)) return d + r;
    return d - m + r;
  }
  if (lessThanHalf(r, m)) return d - r;
  return d + m - r;
}

/** time.Since(t) in nanoseconds. */
export function since(t: GoTime): bigint {
  const now = GoTime.now();
  return BigInt.asIntN(64, (BigInt(now.sec) - BigInt(t.sec)) * SECOND + BigInt(now.nsec - t.nsec));
}
