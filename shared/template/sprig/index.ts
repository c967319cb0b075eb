// Sprig's function set (Masterminds/sprig v3.2.3 TxtFuncMap) as GoFuncs, faithful to Go's
// behaviour, signatures and output. Left out on purpose: env, expandenv and getHostByName (a
// template must never read the server's environment, where its keys live, or the network).
// Left out because they cannot be done synchronously without Node: key and certificate
// generation (genPrivateKey, genCA, genCAWithKey, genSelfSignedCert, genSelfSignedCertWithKey,
// genSignedCert, genSignedCertWithKey, buildCustomCert), bcrypt, htpasswd and derivePassword.
import type { GoFunc } from '../value.js';
import { conversionFuncs } from './conversion.js';
import { cryptoFuncs } from './crypto.js';
import { dateFuncs } from './date.js';
import { defaultFuncs } from './defaults.js';
import { dictFuncs } from './dicts.js';
import { encodingFuncs } from './encoding.js';
import { jsonFuncs } from './json.js';
import { listFuncs } from './lists.js';
import { mathFuncs } from './math.js';
import { pathFuncs } from './paths.js';
import { reflectFuncs } from './reflect.js';
import { regexFuncs } from './regex.js';
import { semverFuncs } from './semver.js';
import { stringFuncs } from './strings.js';
import { urlFuncs } from './urls.js';

/** Names sprig has that this set deliberately lacks: using one fails like any undefined function. */
export const OMITTED_FUNCTIONS: readonly string[] = [
  'env',
  'expandenv',
  'getHostByName',
  'genPrivateKey',
  'genCA',
  'genCAWithKey',
  'genSelfSignedCert',
  'genSelfSignedCertWithKey',
  'genSignedCert',
  'genSignedCertWithKey',
  'buildCustomCert',
  'bcrypt',
  'htpasswd',
  'derivePassword',
];

function buildFuncs(): Readonly<Record<string, GoFunc>> {
  const groups = [
    stringFuncs,
    conversionFuncs,
    mathFuncs,
    defaultFuncs,
    jsonFuncs,
    reflectFuncs,
    pathFuncs,
    encodingFuncs,
    listFuncs,
    dictFuncs,
    cryptoFuncs,
    semverFuncs,
    regexFuncs,
    urlFuncs,
    dateFuncs,
  ];
  // One Object.assign per group: spreading them all into one literal is quadratic in V8.
  const funcs: Record<string, GoFunc> = {};
  for (const group of groups) Object.assign(funcs, group());
  return Object.freeze(funcs);
}

// The functions hold no state but caches of constant data (compiled semver patterns, AES
// tables), so one set serves every template; it is built on first use, not at import.
let shared: Readonly<Record<string, GoFunc>> | undefined;

/** The sprig functions by name (one frozen record, shared by every caller). */
export function sprigFuncs(): Readonly<Record<string, GoFunc>> {
  shared ??= buildFuncs();
  return shared;
}
