// Files that other processes read while we write them (keys.env, admin-token, the embedded
// database's port): a reader sees the whole old file, the whole new one, or none.
import { randomBytes } from 'node:crypto';
import { linkSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes `content` to a staged file beside `path`, then moves it into place. With
 * `overwrite: false` an existing file is kept and an EEXIST error thrown.
 */
export function writeFileAtomically(
  path: string,
  content: string,
  options: { mode?: number; overwrite?: boolean } = {},
): void {
  const staged = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(staged, content, { mode: options.mode ?? 0o600, flag: 'wx' });
  try {
    if (options.overwrite === false) linkSync(staged, path);
    else renameSync(staged, path);
  } finally {
    rmSync(staged, { force: true });
  }
}
