// The fleet: one row per cluster with its status, agent, sync, size and versions; counts by
// status on top, search and a status filter. Only the rows in view are drawn, so a thousand
// clusters scroll as smoothly as ten; the list refetches on live events.
import { useMemo, useState } from 'preact/hooks';
import { get } from '../api';
import { useLive } from '../events';
import { AGENT_WORDS, ago, bytes, cores, STATUS_WORDS, SYNC_WORDS, telemetryOf } from '../format';
import type { Cluster } from '../types';
import { Badge, Empty, useLoad } from '../ui';

const ROW_HEIGHT = 40;
const VIEW_ROWS = 30;
const COLUMNS = [
  'Name',
  'Status',
  'Agent',
  'Sync',
  'Nodes',
  'CPU',
  'Memory',
  'Platform',
  'Kubernetes',
  'Last seen',
];

export function ClustersScreen() {
  const clusters = useLoad(() => get<Cluster[]>('/clusters?without_archived=true'), []);
  // At most one refetch of the whole list every 2 s, however many agents report meanwhile.
  useLive((event) => event.type === 'cluster', clusters.reload, 2000);
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [top, setTop] = useState(0);

  // By name: a person looks a cluster up by its name, and the order holds across refetches.
  const all = useMemo(
    () => [...(clusters.data ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    [clusters.data],
  );
  const counts = useMemo(() => {
    const byStatus = new Map<string, number>();
    for (const cluster of all) byStatus.set(cluster.status, (byStatus.get(cluster.status) ?? 0) + 1);
    return byStatus;
  }, [all]);
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return all.filter(
      (c) => (!status || c.status === status) && (!needle || c.name.toLowerCase().includes(needle)),
    );
  }, [all, search, status]);

  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 5);
  const rows = shown.slice(first, first + VIEW_ROWS + 10);
  const below = shown.length - first - rows.length;

  return (
    <section aria-labelledby="clusters-title">
      <div class="title-row">
        <h1 id="clusters-title">Clusters</h1>
        <a class="button primary" href="/clusters/new">
          Create cluster
        </a>
      </div>
      <ul class="counts" aria-label="Clusters by status">
        <li>
          <button type="button" aria-pressed={status === ''} onClick={() => setStatus('')}>
            All <strong>{all.length}</strong>
          </button>
        </li>
        {[...counts].map(([word, count]) => (
          <li key={word}>
            <button type="button" aria-pressed={status === word} onClick={() => setStatus(word)}>
              <Badge word={STATUS_WORDS[word]} /> <strong>{count}</strong>
            </button>
          </li>
        ))}
      </ul>
      <div class="filters">
        <label>
          Search
          <input
            type="search"
            value={search}
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Status
          <select
            aria-label="Status"
            value={status}
            onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}
          >
            <option value="">Any</option>
            {Object.entries(STATUS_WORDS).map(([word, [label]]) => (
              <option key={word} value={word}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {clusters.error && <p class="error">{clusters.error}</p>}
      {clusters.data && shown.length === 0 && <Empty>No clusters{all.length ? ' match' : ' yet'}.</Empty>}
      {shown.length > 0 && (
        <div
          class="fleet"
          style={{ height: `${(Math.min(shown.length, VIEW_ROWS) + 1) * ROW_HEIGHT + 2}px` }}
          onScroll={(e) => setTop((e.target as HTMLElement).scrollTop)}
        >
          <table aria-label="Clusters" aria-rowcount={shown.length + 1}>
            <thead>
              <tr>
                {COLUMNS.map((h) => (
                  <th key={h}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {first > 0 && <tr class="spacer" style={{ height: `${first * ROW_HEIGHT}px` }} />}
              {rows.map((cluster, i) => {
                const t = telemetryOf(cluster);
                return (
                  <tr key={cluster.id} aria-rowindex={first + i + 2}>
                    <td>
                      <a href={`/clusters/${cluster.id}`}>{cluster.name}</a>
                    </td>
                    <td>
                      <Badge word={STATUS_WORDS[cluster.status]} />
                    </td>
                    <td>
                      <Badge word={AGENT_WORDS[cluster.agent_status]} />
                    </td>
                    <td>
                      <Badge word={SYNC_WORDS[cluster.resources_sync_state]} />
                    </td>
                    <td>{t?.nodes ?? '—'}</td>
                    <td>{cores(t?.cpus)}</td>
                    <td>{bytes(t?.memory_bytes)}</td>
                    <td>{t?.platform_version || '—'}</td>
                    <td>{t?.kubernetes_version || '—'}</td>
                    <td>{ago(cluster.last_seen_at)}</td>
                  </tr>
                );
              })}
              {below > 0 && <tr class="spacer" style={{ height: `${below * ROW_HEIGHT}px` }} />}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
