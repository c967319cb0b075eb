// The workspace's API tokens: create one (its secret is shown once), revoke one.
import { useState } from 'preact/hooks';
import { api, get } from '../api';
import { ago, when } from '../format';
import type { Token } from '../types';
import { Confirm, Field, FormError, TextField, useLoad, useSubmit } from '../ui';

const ROLES = ['viewer', 'operator', 'admin'];

export function TokensScreen() {
  const tokens = useLoad(() => get<Token[]>('/tokens'), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [secret, setSecret] = useState<Token | undefined>(undefined);
  const [revoking, setRevoking] = useState<Token | undefined>(undefined);
  const submit = useSubmit();
  const revoke = useSubmit();
  const create = async (event: Event) => {
    event.preventDefault();
    const created = await submit.run(() => api<Token>('POST', '/tokens', { name, role }));
    if (created) {
      setSecret(created);
      setName('');
      tokens.reload();
    }
  };
  return (
    <section aria-labelledby="tokens-title">
      <h1 id="tokens-title">Tokens</h1>
      {tokens.error && <p class="error">{tokens.error}</p>}
      {secret && (
        <div class="card notice" role="status">
          <p>
            The token <strong>{secret.name}</strong> — copy it now, it is not shown again:
          </p>
          <code class="secret">{secret.token}</code>
          <button type="button" onClick={() => setSecret(undefined)}>
            Done
          </button>
        </div>
      )}
      <FormError error={revoke.error?.message} />
      {tokens.data && (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Created</th>
              <th>Last used</th>
              <th>State</th>
              <th>
                <span class="sr-only">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{t.role}</td>
                <td>{when(t.created_at)}</td>
                <td>{ago(t.last_used_at)}</td>
                <td>{t.revoked_at ? `revoked ${when(t.revoked_at)}` : 'active'}</td>
                <td>
                  {!t.revoked_at && (
                    <button
                      type="button"
                      class="danger"
                      onClick={() => setRevoking(t)}
                      aria-label={`Revoke ${t.name}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <Confirm
          title={`Revoke token ${revoking.name}?`}
          confirmLabel={`Revoke ${revoking.name}`}
          disabled={revoke.busy}
          onCancel={() => setRevoking(undefined)}
          onConfirm={async () => {
            await revoke.run(() => api('DELETE', `/tokens/${revoking.id}`));
            setRevoking(undefined);
            tokens.reload();
          }}
        >
          <p>Anything using this token is refused from now on.</p>
        </Confirm>
      )}
      <form onSubmit={create} class="stack card" aria-labelledby="new-token">
        <h2 id="new-token">New token</h2>
        <TextField
          label="Token name"
          value={name}
          onInput={setName}
          error={submit.error?.field('name')}
          required
        />
        <Field label="Role" error={submit.error?.field('role')}>
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
        <FormError error={submit.error?.rest(['name', 'role'])} />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy}>
            Create token
          </button>
        </div>
      </form>
    </section>
  );
}
