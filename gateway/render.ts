// Renders a cluster's template version: every section with the values and the dc_* variables,
// then reads what the rendered texts mean to Commander — the resources as a desired set, the SSH
// documents as the hosts the manager dials. Pure and synchronous: it runs on the render thread
// (render-worker.ts), and in tests as is.

import { CORE_SCHEMA, loadAll } from 'js-yaml';
import ssh2 from 'ssh2';
import type { Encryptor } from '../shared/crypto.js';
import { CommanderError } from '../shared/errors.js';
import type { ManifestParser } from '../shared/manifests.js';
import { renderTemplate, TemplateError } from '../shared/template/index.js';
import { type PreparedSet, prepareSet } from './desired-state.js';
import {
  type RenderedField,
  SECTION_NAMES,
  type SectionName,
  TEMPLATE_LIMITS,
  TEMPLATE_SECTIONS,
} from './template-sections.js';

/** Commander's variables, given to every section beside the values. */
export interface DcVariables {
  dc_clusterUUID: string;
  /** Commander's host as agents reach it (host[:port] of COMMANDER_PUBLIC_URL). */
  dc_domain: string;
  /** Base64 of the certificate the agent should trust; empty when the gateway serves plain HTTP. */
  dc_caBundle: string;
  dc_sshPublicKey: string;
  dc_sshPrivateKey: string;
}

export interface RenderJob {
  sections: Record<SectionName, string>;
  values: Record<string, unknown>;
  variables: DcVariables;
}

export interface RenderError {
  /** The section whose template or output is wrong; null for what concerns the whole render. */
  section: SectionName | null;
  /** 1-based, in the section's template (template errors) or its output (YAML errors); else null. */
  line: number | null;
  column: number | null;
  message: string;
}

export interface ConnectionHost {
  host: string;
  user: string;
  port: number;
}

/** What the SSH section says: where and as whom the manager connects, with which key. */
export interface Connection {
  masters: ConnectionHost[];
  /** From SSHConfig.sshAgentPrivateKeys[0].key; the generated key when it names none. */
  privateKey: string;
}

export interface Rendered {
  texts: Record<RenderedField, string>;
  /** The fields whose text holds a private key: stored encrypted, answered masked. */
  sensitive: RenderedField[];
  errors: RenderError[];
  /** Set only when nothing failed. */
  connection?: Connection;
  /** The rendered resources as a set to store; set only when nothing failed. */
  set?: PreparedSet;
}

const HOSTNAME = /^[A-Za-z0-9.:_-]{1,253}$/;
const SSH_USER = /^[A-Za-z0-9._-]{1,64}$/;
const DHCTL = 'dhctl.deckhouse.io/v1';
/** Shorter lines of a key are not worth masking: they could match anything. */
const MIN_SECRET_PART = 16;

/**
 * The fragments by which a secret is found in a text: whole, escaped as in a quoted string
 * (JSON, YAML, Go's %q), base64, and each long line of it.
 */
function secretParts(secret: string): string[] {
  if (secret.trim() === '') return [];
  const lines = secret
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= MIN_SECRET_PART);
  return [secret, JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64'), ...lines];
}

export function holdsSecret(text: string, secrets: string[]): boolean {
  return secrets.some((secret) => secretParts(secret).some((part) => text.includes(part)));
}

/** The text with every trace of the secrets replaced by [FILTERED]. */
export function maskSecrets(text: string, secrets: string[]): string {
  let masked = text;
  for (const secret of secrets) {
    // Longest first: the whole key before its lines, so it becomes one mark.
    for (const part of secretParts(secret).sort((a, b) => b.length - a.length)) {
      masked = masked.split(part).join('[FILTERED]');
    }
  }
  return masked;
}

function emptyTexts(): Record<RenderedField, string> {
  return Object.fromEntries(SECTION_NAMES.map((name) => [TEMPLATE_SECTIONS[name], ''])) as Record<
    RenderedField,
    string
  >;
}

/** Where js-yaml failed, 1-based, and its message's first line. */
function yamlError(section: SectionName, error: unknown): RenderError {
  const mark = (error as { mark?: { line?: number; column?: number } }).mark;
  const reason = (error as { reason?: string }).reason ?? (error as Error).message ?? String(error);
  const line = mark?.line === undefined ? null : mark.line + 1;
  const column = mark?.column === undefined ? null : mark.column + 1;
  return {
    section,
    line,
    column,
    message: `${section}: the rendered text is not valid YAML${line ? ` (line ${line}, column ${column})` : ''}: ${
      reason.split('\n')[0]
    }`,
  };
}

function parseYaml(section: SectionName, text: string, errors: RenderError[]): unknown[] | undefined {
  try {
    return loadAll(text, null, { schema: CORE_SCHEMA }).filter((doc) => doc !== null && doc !== undefined);
  } catch (error) {
    errors.push(yamlError(section, error));
    return undefined;
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The SSHConfig and SSHHost documents: hosts in order, the user, port and key of the config. */
function readConnection(documents: unknown[], generatedKey: string, errors: RenderError[]): Connection {
  const fail = (message: string) =>
    errors.push({
      section: 'ssh_configuration',
      line: null,
      column: null,
      message: `ssh_configuration: ${message}`,
    });
  let config: Record<string, unknown> | undefined;
  const hosts: string[] = [];
  documents.forEach((doc, index) => {
    if (!isMap(doc) || doc.apiVersion !== DHCTL || (doc.kind !== 'SSHConfig' && doc.kind !== 'SSHHost')) {
      fail(`document ${index + 1} is not a ${DHCTL} SSHConfig or SSHHost`);
      return;
    }
    if (doc.kind === 'SSHConfig') {
      if (config) fail(`document ${index + 1} is a second SSHConfig`);
      config = doc;
      return;
    }
    if (typeof doc.host !== 'string' || !HOSTNAME.test(doc.host)) {
      fail(`document ${index + 1}: SSHHost.host must be a host name or address`);
      return;
    }
    hosts.push(doc.host);
  });
  if (!config) {
    if (hosts.length > 0) fail('SSHHost documents need an SSHConfig (sshUser, sshPort, sshAgentPrivateKeys)');
    return { masters: [], privateKey: generatedKey };
  }
  const user = config.sshUser;
  if (typeof user !== 'string' || !SSH_USER.test(user)) fail('SSHConfig.sshUser must be a user name');
  const port = config.sshPort ?? 22;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
    fail('SSHConfig.sshPort must be a port number (1-65535)');
  }
  let privateKey = generatedKey;
  const keys = config.sshAgentPrivateKeys;
  if (keys !== undefined) {
    const first = Array.isArray(keys) ? keys[0] : undefined;
    if (!isMap(first) || typeof first.key !== 'string') {
      fail('SSHConfig.sshAgentPrivateKeys must be a list of {key}');
    } else if (first.passphrase) {
      fail(
        'SSHConfig.sshAgentPrivateKeys: keys with a passphrase are not supported; give an unencrypted key',
      );
    } else {
      const parsed = ssh2.utils.parseKey(first.key);
      if (parsed instanceof Error)
        fail(`SSHConfig.sshAgentPrivateKeys[0].key is not a usable private key: ${parsed.message}`);
      else privateKey = first.key;
    }
  }
  return {
    masters: hosts.map((host) => ({ host, user: String(user), port: Number(port) })),
    privateKey,
  };
}

/** The rendered resources as a set, or the reasons they are not one. */
function readResources(
  text: string,
  parser: ManifestParser,
  encryptor: Encryptor,
  errors: RenderError[],
): PreparedSet | undefined {
  try {
    const parsed = parser.parse(Buffer.from(text), 'yaml');
    for (const error of parsed.errors) {
      const where = `document ${error.document + 1}${error.item === undefined ? '' : ` item ${error.item + 1}`}`;
      errors.push({
        section: 'resources',
        line: null,
        column: null,
        message: `resources: ${where}: ${error.message}`,
      });
    }
    return parsed.errors.length > 0 ? undefined : prepareSet(parsed.resources, encryptor);
  } catch (error) {
    const message = error instanceof CommanderError ? error.message : String(error);
    errors.push({ section: 'resources', line: null, column: null, message: `resources: ${message}` });
    return undefined;
  }
}

/** Renders every section; reads the SSH documents and the resources when all of them rendered. */
export function renderCluster(job: RenderJob, parser: ManifestParser, encryptor: Encryptor): Rendered {
  // The variables win over values of the same name: they are Commander's to give.
  const data = { ...job.values, ...job.variables };
  const texts = emptyTexts();
  const errors: RenderError[] = [];
  for (const name of SECTION_NAMES) {
    const template = job.sections[name];
    if (template.trim() === '') continue;
    try {
      const text = renderTemplate(template, data, { name });
      if (text.length > TEMPLATE_LIMITS.renderedChars) {
        errors.push({
          section: name,
          line: null,
          column: null,
          message: `${name}: renders to more than ${TEMPLATE_LIMITS.renderedChars / 1024 / 1024} MiB`,
        });
        continue;
      }
      texts[TEMPLATE_SECTIONS[name]] = text;
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      errors.push({ section: name, line: error.line, column: error.column, message: error.message });
    }
  }
  if (errors.length > 0) return { texts, sensitive: [], errors };

  // The configurations are YAML: a syntax error in what a section rendered is the template's.
  for (const name of [
    'cluster_configuration',
    'provider_specific_cluster_configuration',
    'init_resources',
    'init_configuration',
  ] as const) {
    parseYaml(name, texts[TEMPLATE_SECTIONS[name]], errors);
  }
  const sshDocuments = parseYaml('ssh_configuration', texts.dhctl_configuration_rendered, errors) ?? [];
  const connection = readConnection(sshDocuments, job.variables.dc_sshPrivateKey, errors);
  const set = readResources(texts.desired_resources_rendered, parser, encryptor, errors);
  const secrets = [job.variables.dc_sshPrivateKey, connection.privateKey];
  const sensitive = (Object.keys(texts) as RenderedField[]).filter((field) =>
    holdsSecret(texts[field], secrets),
  );
  if (errors.length > 0) return { texts, sensitive, errors };
  return { texts, sensitive, errors, connection, set };
}
