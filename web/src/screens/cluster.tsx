// One cluster: overview (telemetry now and history charts), configuration (version and the
// parameters form, rendered sections read-only, the pending change), resources, tasks with the
// live log, change requests with Approve, connection hosts, tunnels opened into it, audit history,
// and delete.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, get } from '../api';
import { TelemetryCharts } from '../charts';
import { useLive } from '../events';
import { AGENT_WORDS, ago, bytes, cores, STATUS_WORDS, SYNC_WORDS, telemetryOf, when } from '../format';
import { type FormValues, initialValues, ParamsForm, valueProblems } from '../params-form';
import { navigate } from '../router';
import type {
  AuditRecord,
  ChangeRequest,
  Cluster,
  Task,
  Telemetry,
  Template,
  TunnelRecord,
  Version,
} from '../types';
import { Badge, Confirm, Empty, Field, FormError, TextField, useLoad, useSubmit } from '../ui';

const TABS: [string, string][] = [
  ['overview', 'Overview'],
  ['configuration', 'Configuration'],
  ['resources', 'Resources'],
  ['tasks', 'Tasks'],
  ['changes', 'Change requests'],
  ['hosts', 'Connection hosts'],
  ['tunnels', 'Tunnels'],
  ['audit', 'Audit'],
];

export function ClusterScreen({ id, tab }: { id: string; tab: string }) {
  const cluster = useLoad(() => get<Cluster>(`/clusters/${id}`), [id]);
  useLive((e) => e.type === 'cluster' && e.id === id, cluster.reload, 300);
  const [deleting, setDeleting] = useState(false);
  const c = cluster.data;
  if (cluster.error && !c) return <p class="error">{cluster.error}</p>;
  if (!c) return <p class="muted">Loading…</p>;
  return (
    <section aria-labelledby="cluster-title">
      <div class="title-row">
        <h1 id="cluster-title">{c.name}</h1>
        <span class="status-line">
          <Badge word={STATUS_WORDS[c.status]} /> <Badge word={AGENT_WORDS[c.agent_status]} />{' '}
          <Badge word={SYNC_WORDS[c.resources_sync_state]} />
        </span>
        {c.status !== 'deleted' && (
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            Delete cluster
          </button>
        )}
      </div>
      <nav class="tabs" aria-label="Cluster">
        {TABS.map(([key, label]) => (
          <a key={key} href={`/clusters/${id}/${key}`} aria-current={tab === key ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === 'overview' && <Overview cluster={c} />}
      {tab === 'configuration' && <Configuration cluster={c} onSaved={cluster.reload} />}
      {tab === 'resources' && <Resources cluster={c} />}
      {tab === 'tasks' && <Tasks clusterId={id} />}
      {tab === 'changes' && <ChangeRequests clusterId={id} />}
      {tab === 'hosts' && <Hosts cluster={c} />}
      {tab === 'tunnels' && <Tunnels clusterId={id} />}
      {tab === 'audit' && <History id={id} />}
      {deleting && <DeleteCluster cluster={c} onClose={() => setDeleting(false)} />}
    </section>
  );
}

function DeleteCluster({ cluster, onClose }: { cluster: Cluster; onClose: () => void }) {
  const [typed, setTyped] = useState('');
  const submit = useSubmit();
  return (
    <Confirm
      title={`Delete cluster ${cluster.name}?`}
      confirmLabel={`Delete ${cluster.name}`}
      disabled={typed !== cluster.name || submit.busy}
      onCancel={onClose}
      onConfirm={async () => {
        const done = await submit.run(() => api('DELETE', `/clusters/${cluster.id}`));
        if (done !== undefined) {
          onClose();
          navigate('/clusters');
        }
      }}
    >
      <p>
        The cluster <strong>{cluster.name}</strong> will be destroyed by its installer. This cannot be undone.
      </p>
      <TextField label={`Type ${cluster.name} to confirm`} value={typed} onInput={setTyped} />
      <FormError error={submit.error?.message} />
    </Confirm>
  );
}

const RANGES: [string, number][] = [
  ['15 minutes', 15 * 60],
  ['1 hour', 3600],
  ['6 hours', 6 * 3600],
  ['24 hours', 24 * 3600],
  ['7 days', 7 * 24 * 3600],
];

function Overview({ cluster }: { cluster: Cluster }) {
  const now = telemetryOf(cluster);
  const [range, setRange] = useState(3600);
  const history = useLoad(async () => {
    const to = Date.now() / 1000;
    const from = to - range;
    const samples = await get<Telemetry[]>(
      `/clusters/${cluster.id}/telemetry/history?from=${encodeURIComponent(new Date(from * 1000).toISOString())}`,
    );
    return { samples, window: [from, to] as [number, number] };
  }, [cluster.id, range]);
  // Each new sample arrives as a cluster event; the history follows it.
  useEffect(() => history.reload(), [now?.time]);
  return (
    <div class="stack">
      <dl class="facts">
        <div>
          <dt>Nodes</dt>
          <dd>{now?.nodes ?? '—'}</dd>
        </div>
        <div>
          <dt>CPU</dt>
          <dd>{cores(now?.cpus)} cores</dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>{bytes(now?.memory_bytes)}</dd>
        </div>
        <div>
          <dt>Storage</dt>
          <dd>{bytes(now?.storage_bytes)}</dd>
        </div>
        <div>
          <dt>Platform</dt>
          <dd>{now?.platform_version || '—'}</dd>
        </div>
        <div>
          <dt>Kubernetes</dt>
          <dd>{now?.kubernetes_version || '—'}</dd>
        </div>
        <div>
          <dt>Agent</dt>
          <dd>
            {cluster.agent_version ?? '—'}, seen {ago(cluster.last_seen_at)}
          </dd>
        </div>
        <div>
          <dt>Resources</dt>
          <dd>{cluster.resources_sync_message ?? SYNC_WORDS[cluster.resources_sync_state]?.[0]}</dd>
        </div>
      </dl>
      {cluster.render_errors.length > 0 && (
        <div class="error" role="alert">
          <h2>Render errors</h2>
          <ul>
            {cluster.render_errors.map((e) => (
              <li key={`${e.section}${e.line}${e.message}`}>
                {e.section ?? 'template'}
                {e.line !== null ? `:${e.line}` : ''} {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div class="title-row">
        <h2>History</h2>
        <label>
          Time range
          <select
            aria-label="Time range"
            value={range}
            onChange={(e) => setRange(Number((e.target as HTMLSelectElement).value))}
          >
            {RANGES.map(([label, seconds]) => (
              <option key={seconds} value={seconds}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {history.data && history.data.samples.length === 0 && <Empty>No telemetry in this range yet.</Empty>}
      {history.data && history.data.samples.length > 0 && (
        <TelemetryCharts samples={history.data.samples} range={history.data.window} />
      )}
      {now?.components && now.components.length > 0 && (
        <>
          <h2>Components</h2>
          <ul class="components">
            {now.components.map((component) => (
              <li key={component.name}>
                <Badge word={component.ready ? ['Ready', 'ok'] : ['Not ready', 'bad']} /> {component.name}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

const RENDERED: [string, string][] = [
  ['desired_cluster_configuration_rendered', 'Kubernetes'],
  ['desired_provider_specific_cluster_configuration_rendered', 'Placement'],
  ['dhctl_configuration_rendered', 'SSH parameters'],
  ['desired_resources_rendered', 'Resources'],
  ['init_resources_rendered', 'Primary resources'],
  ['init_configuration_rendered', 'Installation'],
];

/** Lines only in `after` are added (+), lines only in `before` removed (-): enough for YAML. */
function lineDiff(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const inA = new Set(a);
  const inB = new Set(b);
  return [
    ...a.filter((l) => !inB.has(l)).map((l) => `- ${l}`),
    ...b.filter((l) => !inA.has(l)).map((l) => `+ ${l}`),
  ];
}

function Configuration({ cluster, onSaved }: { cluster: Cluster; onSaved: () => void }) {
  const versionId = cluster.cluster_template_version_id;
  const [chosen, setChosen] = useState(versionId ?? '');
  const version = useLoad(
    () => (chosen ? get<Version>(`/cluster_template_versions/${chosen}`) : Promise.resolve(undefined)),
    [chosen],
  );
  const template = useLoad(
    () =>
      version.data
        ? get<Template>(`/cluster_templates/${version.data.cluster_template_id}`)
        : Promise.resolve(undefined),
    [version.data?.cluster_template_id],
  );
  const [values, setValues] = useState<FormValues>({});
  const [problems, setProblems] = useState<Record<string, string>>({});
  const submit = useSubmit();
  useEffect(() => {
    if (version.data) setValues(initialValues(version.data.params, cluster.values));
  }, [version.data, cluster.current_revision]);
  const pending = useMemo(() => {
    const desired = String(cluster.desired_cluster_configuration_rendered ?? '');
    const applied = String(cluster.applied_cluster_configuration_rendered ?? '');
    return applied && desired !== applied ? lineDiff(applied, desired) : [];
  }, [cluster]);

  if (!versionId) return <Empty>This cluster was not made from a template.</Empty>;
  const save = async (event: Event) => {
    event.preventDefault();
    if (!version.data) return;
    const previous = chosen === versionId ? cluster.values : undefined;
    const found = valueProblems(version.data.params, values, previous);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const sent = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '' && v !== undefined));
    const saved = await submit.run(() =>
      api('PUT', `/clusters/${cluster.id}`, {
        name: cluster.name,
        current_revision: cluster.current_revision,
        cluster_template_version_id: chosen,
        registry_id: cluster.registry_id,
        values: sent,
      }),
    );
    if (saved) onSaved();
  };
  const errors: Record<string, string | undefined> = { ...problems };
  for (const key of Object.keys(values)) errors[key] = submit.error?.field(`values/${key}`) ?? problems[key];
  return (
    <div class="stack">
      <form onSubmit={save} class="stack">
        <Field label="Template version" error={submit.error?.field('cluster_template_version_id')}>
          {(id) => (
            <select id={id} value={chosen} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
              {(template.data?.cluster_template_versions ?? []).map((v) => (
                <option key={v.id} value={v.id} disabled={v.unusable && v.id !== versionId}>
                  {`${template.data?.name} v${v.version}${v.comment ? ` — ${v.comment}` : ''}`}
                </option>
              ))}
              {!template.data && <option value={chosen}>{chosen}</option>}
            </select>
          )}
        </Field>
        {version.data && (
          <fieldset>
            <legend>Parameters</legend>
            <ParamsForm
              params={version.data.params}
              values={values}
              onChange={(next) => {
                setValues(next);
                setProblems({});
              }}
              errors={errors}
              previous={chosen === versionId ? cluster.values : undefined}
              clusterId={cluster.id}
            />
          </fieldset>
        )}
        <FormError
          error={submit.error?.rest([
            'name',
            'cluster_template_version_id',
            ...Object.keys(values).map((k) => `values/${k}`),
          ])}
        />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy || cluster.status === 'deleted'}>
            Save configuration
          </button>
        </div>
      </form>
      {pending.length > 0 && (
        <section>
          <h2>Pending change</h2>
          <pre class="diff">
            {pending.map((line) => (
              <span key={line} class={line.startsWith('+') ? 'add' : 'del'}>
                {line}
                {'\n'}
              </span>
            ))}
          </pre>
        </section>
      )}
      {RENDERED.map(([field, title]) =>
        cluster[field] ? (
          <details key={field}>
            <summary>{title}</summary>
            <pre class="code">{String(cluster[field])}</pre>
          </details>
        ) : null,
      )}
    </div>
  );
}

function Resources({ cluster }: { cluster: Cluster }) {
  const results = cluster.resources_state_results ?? [];
  if (results.length === 0) return <Empty>No resource report from the agent yet.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th>Kind</th>
          <th>Namespace</th>
          <th>Name</th>
          <th>Status</th>
          <th>Errors</th>
        </tr>
      </thead>
      <tbody>
        {results.map((r) => (
          <tr key={`${r.api_version}/${r.kind}/${r.namespace}/${r.name}`}>
            <td>{r.kind}</td>
            <td>{r.namespace || '—'}</td>
            <td>{r.name}</td>
            <td>{r.status}</td>
            <td class={r.errors.length ? 'error' : ''}>{r.errors.join('; ') || '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Tasks({ clusterId }: { clusterId: string }) {
  const tasks = useLoad(() => get<Task[]>(`/tasks?cluster_id=${clusterId}`), [clusterId]);
  const [open, setOpen] = useState<string | undefined>(undefined);
  useLive((e) => e.type === 'task' && e.cluster_id === clusterId, tasks.reload, 200);
  const list = tasks.data ?? [];
  const shown = list.find((t) => t.id === open) ?? list[0];
  if (tasks.data && list.length === 0) return <Empty>No tasks yet.</Empty>;
  return (
    <div class="split">
      <ul class="task-list" aria-label="Tasks">
        {list.map((t) => (
          <li key={t.id}>
            <button type="button" aria-pressed={shown?.id === t.id} onClick={() => setOpen(t.id)}>
              <strong>{t.kind}</strong> <span class={`badge ${taskTone(t.status)}`}>{t.status}</span>
              <small>{when(t.created_at)}</small>
            </button>
          </li>
        ))}
      </ul>
      {shown && (
        <section aria-label="Task log" class="task-log">
          <h2>
            {shown.kind} — {shown.status}
          </h2>
          {shown.error && <p class="error">{shown.error}</p>}
          <pre class="code log">{shown.log || '(no output yet)'}</pre>
        </section>
      )}
    </div>
  );
}

function taskTone(status: string): string {
  return status === 'succeeded' ? 'ok' : status === 'failed' ? 'bad' : status === 'running' ? 'busy' : 'idle';
}

function ChangeRequests({ clusterId }: { clusterId: string }) {
  const requests = useLoad(
    () => get<ChangeRequest[]>(`/cluster_change_requests?cluster_id=${clusterId}`),
    [clusterId],
  );
  useLive((e) => e.type === 'change_request' && e.cluster_id === clusterId, requests.reload, 200);
  const submit = useSubmit();
  if (requests.data && requests.data.length === 0) return <Empty>No change requests.</Empty>;
  return (
    <>
      <FormError error={submit.error?.message} />
      <table>
        <thead>
          <tr>
            <th>Change</th>
            <th>Status</th>
            <th>Opened</th>
            <th>Approved by</th>
            <th>
              <span class="sr-only">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(requests.data ?? []).map((r) => (
            <tr key={r.id}>
              <td>{r.destructive_change_id ?? '(unnamed)'}</td>
              <td>{r.status}</td>
              <td>{when(r.created_at)}</td>
              <td>{r.approved_by ?? '—'}</td>
              <td>
                {r.status === 'pending' && (
                  <button
                    type="button"
                    class="primary"
                    disabled={submit.busy}
                    onClick={async () => {
                      await submit.run(() => api('POST', `/cluster_change_requests/${r.id}/approve`));
                      requests.reload();
                    }}
                  >
                    Approve
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Hosts({ cluster }: { cluster: Cluster }) {
  const masters = cluster.connection_hosts.masters;
  if (masters.length === 0) return <Empty>No connection hosts.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th>Host</th>
          <th>Port</th>
          <th>User</th>
        </tr>
      </thead>
      <tbody>
        {masters.map((m) => (
          <tr key={`${m.host}:${m.port}`}>
            <td>{m.host}</td>
            <td>{m.port}</td>
            <td>{m.user}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Tunnels that ended (an open one is recorded when it closes); Refresh reads them again. */
function Tunnels({ clusterId }: { clusterId: string }) {
  const tunnels = useLoad(() => get<TunnelRecord[]>(`/clusters/${clusterId}/tunnels/history`), [clusterId]);
  return (
    <section aria-label="Tunnels">
      <p class="muted">
        Tunnels opened into this cluster, newest first, once they have closed.{' '}
        <button type="button" onClick={tunnels.reload}>
          Refresh
        </button>
      </p>
      {tunnels.error && <p class="error">{tunnels.error}</p>}
      {tunnels.data?.length === 0 ? (
        <Empty>No tunnels yet.</Empty>
      ) : (
        <table aria-label="Tunnels">
          <thead>
            <tr>
              <th>Opened</th>
              <th>Who</th>
              <th>Target</th>
              <th>Closed</th>
              <th>End</th>
              <th>To target</th>
              <th>From target</th>
            </tr>
          </thead>
          <tbody>
            {(tunnels.data ?? []).map((t) => (
              <tr key={t.id}>
                <td>{when(t.opened_at)}</td>
                <td>{t.user_name ?? '—'}</td>
                <td>
                  <code>{t.target}</code>
                </td>
                <td>{when(t.closed_at)}</td>
                <td>{t.end}</td>
                <td>{bytes(t.bytes_to_target)}</td>
                <td>{bytes(t.bytes_from_target)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function History({ id }: { id: string }) {
  const records = useLoad(() => get<AuditRecord[]>(`/audit?auditable_id=${id}`), [id]);
  if (records.data && records.data.length === 0) return <Empty>No history.</Empty>;
  return <AuditTable records={records.data ?? []} />;
}

export function AuditTable({ records }: { records: AuditRecord[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>Object</th>
          <th>Action</th>
          <th>Changes</th>
        </tr>
      </thead>
      <tbody>
        {records.map((r) => (
          <tr key={r.id}>
            <td>{when(r.created_at)}</td>
            <td>{r.user_name ?? '—'}</td>
            <td>
              {r.auditable_type} <small class="muted">{r.auditable_id.slice(0, 8)}</small>
            </td>
            <td>{r.action}</td>
            <td>
              <code class="changes">{JSON.stringify(r.audited_changes)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
