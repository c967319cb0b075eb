#!/usr/bin/env -S node --initial-old-space-size=64
// `commander <command>`: finds the command, parses its flags strictly and runs it.
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config.js';
import { KeyCheckError } from '../shared/db/key-check.js';
import { ExitError } from '../shared/exit.js';
import { keepFreedMemory } from '../shared/heap.js';
import { packageVersion } from '../shared/version.js';
import { type Command, commands, UsageError } from './commands.js';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Commander: a control plane for fleets of Kubernetes clusters.',
    '',
    'Usage: commander <command> [options]',
    '       commander --version',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `commander <command> --help` for a command's options.",
  ].join('\n');
}

function find(argv: string[]): { command?: Command; rest: string[] } {
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.every((word, i) => argv[i] === word)) return { command, rest: argv.slice(words.length) };
  }
  return { rest: argv };
}

async function main(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${overview()}\n`);
    return;
  }
  if (argv[0] === '--version') {
    if (argv.length > 1)
      throw new UsageError(`--version takes no arguments, got "${argv.slice(1).join(' ')}"`);
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const { command, rest } = find(argv);
  if (!command) {
    const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0 && (argv[1] === undefined || argv[1] === '--help' || argv[1] === '-h')) {
      process.stdout.write(`${group.map((c) => `commander ${c.name}: ${c.summary}`).join('\n')}\n`);
      return;
    }
    throw new UsageError(`unknown command "${argv.join(' ')}"; run \`commander --help\``);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: command.arguments !== undefined,
    });
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`Usage: ${command.usage}\n`);
    return;
  }
  const expected = command.arguments ?? [];
  if (parsed.positionals.length !== expected.length) {
    const want = expected.map((a) => `<${a}>`).join(' ');
    throw new UsageError(
      `${command.name} takes ${want}, got ${parsed.positionals.length} arguments; see --help`,
    );
  }
  await command.run(parsed.values, parsed.positionals);
}

keepFreedMemory();
main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const known = error instanceof UsageError || error instanceof ConfigError || error instanceof KeyCheckError;
  const explained = known || error instanceof ExitError;
  const line = `commander: ${explained ? message : `error: ${message}`}`.split('\n')[0];
  process.stderr.write(`${line}\n`);
  process.exit(error instanceof ExitError ? error.exitCode : known ? 2 : 1);
});
