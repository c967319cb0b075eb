// How values read on screen: Commander's status words with their colours, sizes, times.
import type { Cluster, Telemetry } from './types';

/** Status → [label, tone]; tones are CSS classes (ok, busy, bad, idle). */
export const STATUS_WORDS: Record<string, [string, string]> = {
  new: ['New', 'idle'],
  configuration_error: ['Configuration Error', 'bad'],
  creating: ['In Creation', 'busy'],
  creation_failed: ['Creation Error', 'bad'],
  in_sync: ['Ready', 'ok'],
  changing: ['Changing', 'busy'],
  change_failed: ['Change Error', 'bad'],
  delete: ['Deleting', 'busy'],
  deletion_failed: ['Deletion Error', 'bad'],
  deleted: ['Archived', 'idle'],
};

export const AGENT_WORDS: Record<string, [string, string]> = {
  connected: ['Connected', 'ok'],
  disconnected: ['Disconnected', 'bad'],
  never_connected: ['Never connected', 'idle'],
};

export const SYNC_WORDS: Record<string, [string, string]> = {
  configured: ['In sync', 'ok'],
  not_configured: ['Drifting', 'busy'],
  no_data: ['No data', 'idle'],
};

export function telemetryOf(cluster: Cluster): Telemetry | undefined {
  return cluster.cluster_agent_data.find((item) => item.source === 'overview')?.data as Telemetry | undefined;
}

export function bytes(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${n >= 10 || unit === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[unit]}`;
}

export function cores(value: number | undefined): string {
  return value === undefined ? '—' : `${Number(value.toFixed(2))}`;
}

export function ago(time: string | null | undefined): string {
  if (!time) return 'never';
  const seconds = Math.round((Date.now() - new Date(time).getTime()) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(time).toLocaleString();
}

export function when(time: string | null | undefined): string {
  return time ? new Date(time).toLocaleString() : '—';
}
