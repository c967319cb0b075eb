// A network namespace joined to the host by a veth pair: a "cluster" the test can put processes
// in, reachable from the host only at the namespace's veth address (its loopback stays private).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface NetNs {
  name: string;
  /** The host's end of the veth pair, reachable from inside the namespace. */
  hostAddress: string;
  /** The namespace's end, reachable from the host. */
  nsAddress: string;
  /** Prefix for a command to run inside the namespace. */
  exec: string[];
  remove(): void;
}

/** Namespaces need root and iproute2; in CI their absence must fail a test rather than skip it. */
export function haveNetns(): boolean {
  return userInfo().uid === 0 && ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].some((path) => existsSync(path));
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createNetns(): NetNs {
  // Interface names are at most 15 characters; the pid keeps parallel test files apart.
  const tag = `${process.pid % 100_000}${Math.floor(Math.random() * 100)}`;
  const name = `cmdr-${tag}`;
  const hostIf = `cvh${tag}`;
  const nsIf = `cvn${tag}`;
  // A /30 of 10.200.0.0/16 chosen from the tag.
  const n = Number(tag) % 16_384;
  const base = `10.200.${Math.floor(n / 64)}.${(n % 64) * 4}`;
  const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
  const hostAddress = `${a}.${b}.${c}.${d + 1}`;
  const nsAddress = `${a}.${b}.${c}.${d + 2}`;
  const remove = () => {
    // Deleting the namespace deletes its end of the pair, and so the pair.
    try {
      ip('netns', 'del', name);
    } catch {}
    try {
      ip('link', 'del', hostIf);
    } catch {}
  };
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    ip('netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (error) {
    remove();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot create network namespace ${name}: ${stderr || (error as Error).message}`);
  }
  return { name, hostAddress, nsAddress, exec: ['ip', 'netns', 'exec', name], remove };
}
