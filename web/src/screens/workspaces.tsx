// For a global token: the workspaces, a new one, and opening one with a token of that workspace
// (a global token cannot reach a workspace's objects itself).
import { useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { startEvents } from '../events';
import { navigate } from '../router';
import { session } from '../session';
import type { Workspace } from '../types';
import { Empty, FormError, TextField, useLoad, useSubmit } from '../ui';

export function WorkspacesScreen() {
  const global = session.globalToken();
  const workspaces = useLoad(
    () => (global ? api<Workspace[]>('GET', '/workspaces', undefined, global) : Promise.resolve([])),
    [global],
  );
  const [name, setName] = useState('');
  const [opening, setOpening] = useState<Workspace | undefined>(undefined);
  const [token, setToken] = useState('');
  const submit = useSubmit();
  const open = useSubmit();
  if (!global) return <Empty>Sign in with a global token to manage workspaces.</Empty>;
  const create = async (event: Event) => {
    event.preventDefault();
    const created = await submit.run(() => api('POST', '/workspaces', { name }, global));
    if (created) {
      setName('');
      workspaces.reload();
    }
  };
  const enter = async (event: Event) => {
    event.preventDefault();
    if (!opening) return;
    const ok = await open.run(async () => {
      await api('GET', '/clusters?without_archived=true', undefined, token.trim());
      return true;
    });
    if (!ok) return;
    session.openWorkspace({ id: opening.id, name: opening.name, token: token.trim() });
    startEvents();
    navigate('/clusters');
  };
  return (
    <section aria-labelledby="workspaces-title">
      <h1 id="workspaces-title">Workspaces</h1>
      {workspaces.data?.length === 0 && <Empty>No workspaces yet.</Empty>}
      <ul class="cards">
        {(workspaces.data ?? []).map((w) => (
          <li key={w.id} class="card">
            <strong>{w.name}</strong> <code>{w.slug}</code>{' '}
            <button type="button" onClick={() => setOpening(w)}>
              Open
            </button>
          </li>
        ))}
      </ul>
      {opening && (
        <form onSubmit={enter} class="stack card">
          <h2>Open {opening.name}</h2>
          <TextField
            label="Workspace token"
            type="password"
            value={token}
            onInput={setToken}
            error={open.error instanceof ApiError ? open.error.message : undefined}
          />
          <div class="actions">
            <button type="submit" class="primary">
              Open workspace
            </button>
          </div>
        </form>
      )}
      <form onSubmit={create} class="stack card">
        <h2>New workspace</h2>
        <TextField
          label="Workspace name"
          value={name}
          onInput={setName}
          error={submit.error?.field('name')}
          required
        />
        <FormError error={submit.error?.rest(['name'])} />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy}>
            Create workspace
          </button>
        </div>
      </form>
    </section>
  );
}
