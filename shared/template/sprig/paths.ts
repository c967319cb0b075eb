// Go's path package (and path/filepath, identical on Linux where the reference runs): Base, Dir,
// Clean, Ext and IsAbs on slash-separated paths.
import { def, str } from './go.js';

function clean(path: string): string {
  if (path === '') return '.';
  const rooted = path[0] === '/';
  const n = path.length;
  const out: string[] = [];
  let r = 0;
  let dotdot = 0;
  if (rooted) {
    out.push('/');
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (path[r] === '/') r++;
    else if (path[r] === '.' && (r + 1 === n || path[r + 1] === '/')) r++;
    else if (path[r] === '.' && path[r + 1] === '.' && (r + 2 === n || path[r + 2] === '/')) {
      r += 2;
      if (out.length > dotdot) {
        let removed = out.pop();
        while (out.length > dotdot && removed !== '/') removed = out.pop();
      } else if (!rooted) {
        if (out.length > 0) out.push('/');
        out.push('.', '.');
        dotdot = out.length;
      }
    } else {
      if ((rooted && out.length !== 1) || (!rooted && out.length !== 0)) out.push('/');
      for (; r < n && path[r] !== '/'; r++) out.push(path[r] ?? '');
    }
  }
  return out.length === 0 ? '.' : out.join('');
}

function base(path: string): string {
  if (path === '') return '.';
  let p = path;
  while (p.length > 0 && p.endsWith('/')) p = p.slice(0, -1);
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}

const dir = (path: string): string => clean(path.slice(0, path.lastIndexOf('/') + 1));

function ext(path: string): string {
  for (let i = path.length - 1; i >= 0 && path[i] !== '/'; i--) {
    if (path[i] === '.') return path.slice(i);
  }
  return '';
}

export function pathFuncs() {
  const s2s = (f: (s: string) => string) => def(['string'], 'string', (s) => f(str(s)));
  const isAbs = def(['string'], 'bool', (s) => str(s).startsWith('/'));
  return {
    base: s2s(base),
    dir: s2s(dir),
    clean: s2s(clean),
    ext: s2s(ext),
    isAbs,
    osBase: s2s(base),
    osClean: s2s(clean),
    osDir: s2s(dir),
    osExt: s2s(ext),
    osIsAbs: isAbs,
  };
}
