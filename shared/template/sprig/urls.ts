// Go's net/url Parse and URL.String as sprig's urlParse and urlJoin use them. Escaping works on
// UTF-8 bytes, so the port runs on binary strings (one char per byte).

import { kindName } from '../fmt.js';
import { GoMap, type Value } from '../value.js';
import { def, dictArg, fail, fromBinary, str, toBinary } from './go.js';

enum Mode {
  Path = 1,
  PathSegment,
  Host,
  Zone,
  UserPassword,
  QueryComponent,
  Fragment,
}

class UrlError extends Error {}

const isAlnum = (c: string): boolean => /[A-Za-z0-9]/.test(c);
const isHex = (c: string | undefined): boolean => c !== undefined && /[0-9A-Fa-f]/.test(c);

function shouldEscape(c: string, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if ((mode === Mode.Host || mode === Mode.Zone) && `!$&'()*+,;=:[]<>"`.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    switch (mode) {
      case Mode.Path:
        return c === '?';
      case Mode.PathSegment:
        return c === '/' || c === ';' || c === ',' || c === '?';
      case Mode.UserPassword:
        return c === '@' || c === '/' || c === '?' || c === ':';
      case Mode.QueryComponent:
        return true;
      case Mode.Fragment:
        return false;
    }
  }
  if (mode === Mode.Fragment && '!()*'.includes(c)) return false;
  return true;
}

function urlUnescape(s: string, mode: Mode): string {
  let n = 0;
  let hasPlus = false;
  for (let i = 0; i < s.length; ) {
    const c = s[i] as string;
    if (c === '%') {
      n++;
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
        throw new UrlError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      const hi = Number.parseInt(s[i + 1] as string, 16);
      if (mode === Mode.Host && hi < 8 && s.slice(i, i + 3) !== '%25')
        throw new UrlError('invalid URL escape');
      if (mode === Mode.Zone) {
        const v = String.fromCharCode(Number.parseInt(s.slice(i + 1, i + 3), 16));
        if (s.slice(i, i + 3) !== '%25' && v !== ' ' && shouldEscape(v, Mode.Host))
          throw new UrlError('invalid URL escape');
      }
      i += 3;
    } else {
      if (c === '+') hasPlus = mode === Mode.QueryComponent;
      else if (
        (mode === Mode.Host || mode === Mode.Zone) &&
        c.charCodeAt(0) < 0x80 &&
        shouldEscape(c, mode)
      ) {
        throw new UrlError(`invalid character ${JSON.stringify(c)} in host name`);
      }
      i++;
    }
  }
  if (n === 0 && !hasPlus) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '%') {
      out += String.fromCharCode(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '+') out += mode === Mode.QueryComponent ? ' ' : '+';
    else out += c;
  }
  return out;
}

function urlEscape(s: string, mode: Mode): string {
  let out = '';
  for (const c of s) {
    if (c === ' ' && mode === Mode.QueryComponent) out += '+';
    else if (shouldEscape(c, mode)) out += `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return out;
}

interface Userinfo {
  username: string;
  password?: string;
}

interface Url {
  scheme: string;
  opaque: string;
  user?: Userinfo;
  host: string;
  path: string;
  rawPath: string;
  omitHost: boolean;
  forceQuery: boolean;
  rawQuery: string;
  fragment: string;
  rawFragment: string;
}

const userString = (u: Userinfo): string =>
  urlEscape(u.username, Mode.UserPassword) +
  (u.password !== undefined ? `:${urlEscape(u.password, Mode.UserPassword)}` : '');

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ['', raw];
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new UrlError('missing protocol scheme');
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ['', raw];
  }
  return ['', raw];
}

function validOptionalPort(port: string): boolean {
  if (port === '') return true;
  return port[0] === ':' && /^[0-9]*$/.test(port.slice(1));
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort))
      throw new UrlError(`invalid port ${JSON.stringify(colonPort)} after host`);
    const zone = host.slice(0, i).indexOf('%25');
    if (zone >= 0) {
      return (
        urlUnescape(host.slice(0, zone), Mode.Host) +
        urlUnescape(host.slice(zone, i), Mode.Zone) +
        urlUnescape(host.slice(i), Mode.Host)
      );
    }
  } else {
    const i = host.lastIndexOf(':');
    if (i !== -1 && !validOptionalPort(host.slice(i))) {
      throw new UrlError(`invalid port ${JSON.stringify(host.slice(i))} after host`);
    }
  }
  return urlUnescape(host, Mode.Host);
}

function parseAuthority(authority: string): [Userinfo | undefined, string] {
  const i = authority.lastIndexOf('@');
  const host = parseHost(i < 0 ? authority : authority.slice(i + 1));
  if (i < 0) return [undefined, host];
  const userinfo = authority.slice(0, i);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) throw new UrlError('net/url: invalid userinfo');
  const colon = userinfo.indexOf(':');
  if (colon < 0) return [{ username: urlUnescape(userinfo, Mode.UserPassword) }, host];
  return [
    {
      username: urlUnescape(userinfo.slice(0, colon), Mode.UserPassword),
      password: urlUnescape(userinfo.slice(colon + 1), Mode.UserPassword),
    },
    host,
  ];
}

function hasControlByte(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const b = s.charCodeAt(i);
    if (b < 0x20 || b === 0x7f) return true;
  }
  return false;
}

/** url.Parse over a binary string. */
function parse(rawURL: string): Url {
  const hash = rawURL.indexOf('#');
  const u = hash < 0 ? rawURL : rawURL.slice(0, hash);
  const frag = hash < 0 ? '' : rawURL.slice(hash + 1);
  if (hasControlByte(u)) throw new UrlError('net/url: invalid control character in URL');
  const url: Url = {
    scheme: '',
    opaque: '',
    host: '',
    path: '',
    rawPath: '',
    omitHost: false,
    forceQuery: false,
    rawQuery: '',
    fragment: '',
    rawFragment: '',
  };
  if (u === '*') url.path = '*';
  else {
    let rest: string;
    [url.scheme, rest] = getScheme(u);
    url.scheme = url.scheme.toLowerCase();
    if (rest.endsWith('?') && rest.split('?').length === 2) {
      url.forceQuery = true;
      rest = rest.slice(0, -1);
    } else {
      const q = rest.indexOf('?');
      if (q >= 0) {
        url.rawQuery = rest.slice(q + 1);
        rest = rest.slice(0, q);
      }
    }
    let done = false;
    if (!rest.startsWith('/')) {
      if (url.scheme !== '') {
        url.opaque = rest;
        done = true;
      } else if ((rest.split('/')[0] ?? '').includes(':')) {
        throw new UrlError('first path segment in URL cannot contain colon');
      }
    }
    if (!done) {
      if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
        let authority = rest.slice(2);
        rest = '';
        const i = authority.indexOf('/');
        if (i >= 0) {
          rest = authority.slice(i);
          authority = authority.slice(0, i);
        }
        const [user, host] = parseAuthority(authority);
        if (user) url.user = user;
        url.host = host;
      } else if (url.scheme !== '' && rest.startsWith('/')) url.omitHost = true;
      url.path = urlUnescape(rest, Mode.Path);
      url.rawPath = urlEscape(url.path, Mode.Path) === rest ? '' : rest;
    }
  }
  if (frag !== '') {
    url.fragment = urlUnescape(frag, Mode.Fragment);
    url.rawFragment = urlEscape(url.fragment, Mode.Fragment) === frag ? '' : frag;
  }
  return url;
}

function validEncoded(s: string, mode: Mode): boolean {
  for (const c of s) {
    if ("!$&'()*+,;=:@[]%".includes(c)) continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

function escapedPath(u: Url): string {
  if (u.rawPath !== '' && validEncoded(u.rawPath, Mode.Path)) {
    try {
      if (urlUnescape(u.rawPath, Mode.Path) === u.path) return u.rawPath;
    } catch {
      // fall through to escaping the path
    }
  }
  if (u.path === '*') return '*';
  return urlEscape(u.path, Mode.Path);
}

function escapedFragment(u: Url): string {
  if (u.rawFragment !== '' && validEncoded(u.rawFragment, Mode.Fragment)) {
    try {
      if (urlUnescape(u.rawFragment, Mode.Fragment) === u.fragment) return u.rawFragment;
    } catch {
      // fall through
    }
  }
  return urlEscape(u.fragment, Mode.Fragment);
}

/** URL.String. */
function urlString(u: Url): string {
  let buf = '';
  if (u.scheme !== '') buf += `${u.scheme}:`;
  if (u.opaque !== '') buf += u.opaque;
  else {
    if (u.scheme !== '' || u.host !== '' || u.user) {
      if (!(u.omitHost && u.host === '' && !u.user)) {
        if (u.host !== '' || u.path !== '' || u.user) buf += '//';
        if (u.user) buf += `${userString(u.user)}@`;
        if (u.host !== '') buf += urlEscape(u.host, Mode.Host);
      }
    }
    const path = escapedPath(u);
    if (path !== '' && path[0] !== '/' && u.host !== '') buf += '/';
    if (buf.length === 0 && (path.split('/')[0] ?? '').includes(':')) buf += './';
    buf += path;
  }
  if (u.forceQuery || u.rawQuery !== '') buf += `?${u.rawQuery}`;
  if (u.fragment !== '') buf += `#${escapedFragment(u)}`;
  return buf;
}

function hostname(host: string): string {
  let h = host;
  const colon = h.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(h.slice(colon))) h = h.slice(0, colon);
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h;
}

function urlParse(v: string): GoMap {
  let u: Url;
  try {
    u = parse(toBinary(v));
  } catch (e) {
    if (e instanceof UrlError) fail(`unable to parse url: parse ${JSON.stringify(v)}: ${e.message}`);
    throw e;
  }
  const entries = new Map<string, Value>([
    ['scheme', u.scheme],
    ['host', u.host],
    ['hostname', hostname(u.host)],
    ['path', u.path],
    ['query', u.rawQuery],
    ['opaque', u.opaque],
    ['fragment', u.fragment],
    ['userinfo', u.user ? userString(u.user) : ''],
  ]);
  for (const [k, x] of entries) entries.set(k, fromBinary(x as string));
  return new GoMap('interface {}', entries);
}

function dictGetOrEmpty(d: GoMap, key: string): string {
  if (!d.entries.has(key)) return '';
  const value = d.entries.get(key);
  if (value === null || value === undefined)
    fail('runtime error: invalid memory address or nil pointer dereference');
  if (typeof value !== 'string')
    fail(`unable to parse ${key} key, must be of type string, but ${kindName(value)} found`);
  return toBinary(value);
}

function urlJoin(d: GoMap): string {
  const u: Url = {
    scheme: dictGetOrEmpty(d, 'scheme'),
    host: dictGetOrEmpty(d, 'host'),
    path: dictGetOrEmpty(d, 'path'),
    rawQuery: dictGetOrEmpty(d, 'query'),
    opaque: dictGetOrEmpty(d, 'opaque'),
    fragment: dictGetOrEmpty(d, 'fragment'),
    rawPath: '',
    rawFragment: '',
    omitHost: false,
    forceQuery: false,
  };
  const userinfo = dictGetOrEmpty(d, 'userinfo');
  if (userinfo !== '') {
    try {
      const user = parse(`proto://${userinfo}@host`).user;
      if (user) u.user = user;
    } catch (e) {
      if (e instanceof UrlError) fail(`unable to parse userinfo in dict: ${e.message}`);
      throw e;
    }
  }
  return fromBinary(urlString(u));
}

export function urlFuncs() {
  return {
    urlParse: def(['string'], 'map[string]interface {}', (v) => urlParse(str(v))),
    urlJoin: def(['map[string]interface {}'], 'string', (d) => urlJoin(dictArg(d))),
  };
}
