// The installers file (COMMANDER_INSTALLERS): which commands install, check, converge and
// destroy a cluster of each platform version, as the reference runs a dhctl per version.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../shared/config.js';
import { PermanentError } from './worker.js';

export interface Installer {
  install: string;
  check: string;
  converge: string;
  destroy: string;
}

export interface Installers {
  defaultVersion?: string;
  byVersion: Map<string, Installer>;
}

const COMMANDS = ['install', 'check', 'converge', 'destroy'] as const;

export function loadInstallers(file: string | undefined): Installers {
  if (!file) return { byVersion: new Map() };
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError('COMMANDER_INSTALLERS', `cannot read ${file}: ${(error as Error).message}`);
  }
  const root = doc as { default_version?: unknown; installers?: unknown };
  if (!root || typeof root !== 'object' || !root.installers || typeof root.installers !== 'object') {
    throw new ConfigError('COMMANDER_INSTALLERS', `${file} must have an "installers" map`);
  }
  const byVersion = new Map<string, Installer>();
  for (const [version, entry] of Object.entries(root.installers as Record<string, unknown>)) {
    const commands = entry as Record<string, unknown>;
    for (const name of COMMANDS) {
      if (typeof commands?.[name] !== 'string' || !(commands[name] as string).trim()) {
        throw new ConfigError(
          'COMMANDER_INSTALLERS',
          `installer "${version}" in ${file} needs a "${name}" command`,
        );
      }
    }
    byVersion.set(String(version), commands as unknown as Installer);
  }
  const defaultVersion = root.default_version === undefined ? undefined : String(root.default_version);
  if (defaultVersion !== undefined && !byVersion.has(defaultVersion)) {
    throw new ConfigError(
      'COMMANDER_INSTALLERS',
      `default_version "${defaultVersion}" has no installer in ${file}`,
    );
  }
  return { defaultVersion, byVersion };
}

/** The installer for a cluster: values.platform_version, else the default. */
export function installerFor(
  installers: Installers,
  values: Record<string, unknown>,
): { version: string; installer: Installer } {
  const requested = values.platform_version;
  const version =
    typeof requested === 'string' || typeof requested === 'number'
      ? String(requested)
      : installers.defaultVersion;
  if (version === undefined) {
    throw new PermanentError(
      'the cluster has no values.platform_version and the installers file sets no default_version',
    );
  }
  const installer = installers.byVersion.get(version);
  if (!installer) {
    const known = [...installers.byVersion.keys()].join(', ') || 'none (COMMANDER_INSTALLERS is not set)';
    throw new PermanentError(`no installer for platform version ${version}; configured: ${known}`);
  }
  return { version, installer };
}

/** Fills {bundle} (and nothing else) in a command. */
export function command(template: string, bundle: string): string {
  return template.split('{bundle}').join(bundle);
}
