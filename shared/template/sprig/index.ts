// Sprig's function set (Masterminds/sprig v3 TxtFuncMap) as GoFuncs, without env, expandenv and
// getHostByName: a template never reads the server's environment or the network.
// (Stub: the sprig branch implements it.)
import type { GoFunc } from '../value.js';

export function sprigFuncs(): Record<string, GoFunc> {
  return {};
}
