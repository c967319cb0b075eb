// Container registries the installer pulls from: list and add (credentials are never shown).
import { useState } from 'preact/hooks';
import { api, get } from '../api';
import type { Registry } from '../types';
import { Empty, Field, FormError, TextField, useLoad, useSubmit } from '../ui';

export function RegistriesScreen() {
  const registries = useLoad(() => get<Registry[]>('/registries'), []);
  const [form, setForm] = useState({
    name: '',
    images_repo: '',
    scheme: 'https',
    dev_branch: '',
    user: '',
    password: '',
  });
  const submit = useSubmit();
  const set = (key: keyof typeof form) => (value: string) => setForm({ ...form, [key]: value });
  const create = async (event: Event) => {
    event.preventDefault();
    const auth = form.user ? btoa(`${form.user}:${form.password}`) : undefined;
    const created = await submit.run(() =>
      api('POST', '/registries', {
        name: form.name,
        images_repo: form.images_repo,
        scheme: form.scheme,
        ...(form.dev_branch ? { dev_branch: form.dev_branch } : {}),
        ...(auth ? { auth } : {}),
      }),
    );
    if (created) {
      setForm({ name: '', images_repo: '', scheme: 'https', dev_branch: '', user: '', password: '' });
      registries.reload();
    }
  };
  return (
    <section aria-labelledby="registries-title">
      <h1 id="registries-title">Registries</h1>
      {registries.data?.length === 0 && <Empty>No registries yet.</Empty>}
      {registries.data && registries.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Images</th>
              <th>Scheme</th>
              <th>Credentials</th>
            </tr>
          </thead>
          <tbody>
            {registries.data.map((r) => (
              <tr key={r.id}>
                <td>{r.name}</td>
                <td>
                  <code>{r.images_repo}</code>
                </td>
                <td>{r.scheme}</td>
                <td>{r.auth_set ? 'stored' : 'none'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={create} class="stack card" aria-labelledby="new-registry">
        <h2 id="new-registry">New registry</h2>
        <TextField
          label="Name"
          value={form.name}
          onInput={set('name')}
          error={submit.error?.field('name')}
          required
        />
        <TextField
          label="Images repository"
          value={form.images_repo}
          onInput={set('images_repo')}
          error={submit.error?.field('images_repo')}
          required
        />
        <Field label="Scheme" error={submit.error?.field('scheme')}>
          {(id) => (
            <select
              id={id}
              value={form.scheme}
              onChange={(e) => set('scheme')((e.target as HTMLSelectElement).value)}
            >
              <option value="https">https</option>
              <option value="http">http</option>
            </select>
          )}
        </Field>
        <TextField
          label="Dev branch"
          value={form.dev_branch}
          onInput={set('dev_branch')}
          error={submit.error?.field('dev_branch')}
        />
        <TextField label="User" value={form.user} onInput={set('user')} error={submit.error?.field('auth')} />
        <TextField label="Password" type="password" value={form.password} onInput={set('password')} />
        <FormError error={submit.error?.rest(['name', 'images_repo', 'scheme', 'dev_branch', 'auth'])} />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy}>
            Add registry
          </button>
        </div>
      </form>
    </section>
  );
}
