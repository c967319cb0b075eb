// The package's version, as `commander --version` prints it and the agent reports it.
import { readFileSync } from 'node:fs';

/** Read from package.json, found from the source tree (shared/) and from dist/shared/ alike. */
export function packageVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string;
        version?: unknown;
      };
      if (pkg.name === 'commander' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}
