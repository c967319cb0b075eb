// Inventory: catalogs (slug, name, record schema) and each catalog's records with the cluster
// that holds them; records are added through the catalog's parameters form.
import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../api';
import { useLive } from '../events';
import { type FormValues, initialValues, ParamsForm, valueProblems } from '../params-form';
import type { Catalog, Cluster, InventoryRecord, ParamField } from '../types';
import { Empty, Field, FormError, TextField, useLoad, useSubmit } from '../ui';

export function InventoryScreen() {
  const catalogs = useLoad(() => get<Catalog[]>('/catalogs?without_archived=true'), []);
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [schema, setSchema] = useState('[\n  { "key": "ip", "type": "string", "title": "Address" }\n]');
  const submit = useSubmit();
  const create = async (event: Event) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(schema);
    } catch (err) {
      submit.setError(undefined);
      setSchemaError(`not JSON: ${(err as Error).message}`);
      return;
    }
    setSchemaError(undefined);
    const created = await submit.run(() => api('POST', '/catalogs', { slug, name, schema: parsed }));
    if (created) {
      setSlug('');
      setName('');
      catalogs.reload();
    }
  };
  const [schemaError, setSchemaError] = useState<string | undefined>(undefined);
  return (
    <section aria-labelledby="inventory-title">
      <h1 id="inventory-title">Inventory</h1>
      {catalogs.data?.length === 0 && <Empty>No catalogs yet.</Empty>}
      {catalogs.data && catalogs.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Catalog</th>
              <th>Slug</th>
              <th>Fields</th>
            </tr>
          </thead>
          <tbody>
            {catalogs.data.map((c) => (
              <tr key={c.id}>
                <td>
                  <a href={`/inventory/${c.id}`}>{c.name}</a>
                </td>
                <td>
                  <code>{c.slug}</code>
                </td>
                <td>
                  {c.schema
                    .filter((p): p is ParamField => 'key' in p)
                    .map((p) => p.title)
                    .join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={create} class="stack card" aria-labelledby="new-catalog">
        <h2 id="new-catalog">New catalog</h2>
        <TextField label="Slug" value={slug} onInput={setSlug} error={submit.error?.field('slug')} required />
        <TextField
          label="Catalog name"
          value={name}
          onInput={setName}
          error={submit.error?.field('name')}
          required
        />
        <Field label="Record schema (JSON)" error={schemaError ?? submit.error?.field('schema')}>
          {(id, describedBy) => (
            <textarea
              id={id}
              class="code"
              rows={5}
              aria-describedby={describedBy}
              value={schema}
              onInput={(e) => setSchema((e.target as HTMLTextAreaElement).value)}
            />
          )}
        </Field>
        <FormError error={submit.error?.rest(['slug', 'name', 'schema'])} />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy}>
            Create catalog
          </button>
        </div>
      </form>
    </section>
  );
}

export function CatalogScreen({ id }: { id: string }) {
  const catalog = useLoad(() => get<Catalog>(`/catalogs/${id}`), [id]);
  const records = useLoad(
    () => get<InventoryRecord[]>(`/records?catalog_id=${id}&without_archived=true`),
    [id],
  );
  const clusters = useLoad(() => get<Cluster[]>('/clusters?without_archived=true'), []);
  useLive((e) => e.type === 'record' || e.type === 'cluster', records.reload, 1000);
  const [values, setValues] = useState<FormValues>({});
  const [problems, setProblems] = useState<Record<string, string>>({});
  const submit = useSubmit();
  useEffect(() => {
    if (catalog.data) setValues(initialValues(catalog.data.schema));
  }, [catalog.data]);
  if (!catalog.data) return <p class="muted">{catalog.error ?? 'Loading…'}</p>;
  const fields = catalog.data.schema.filter((p): p is ParamField => 'key' in p);
  const clusterName = (clusterId: string) =>
    clusters.data?.find((c) => c.id === clusterId)?.name ?? clusterId;
  const add = async (event: Event) => {
    event.preventDefault();
    if (!catalog.data) return;
    const found = valueProblems(catalog.data.schema, values);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const sent = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '' && v !== undefined));
    const created = await submit.run(() => api('POST', '/records', { catalog_id: id, values: sent }));
    if (created) {
      setValues(initialValues(catalog.data.schema));
      records.reload();
    }
  };
  const errors: Record<string, string | undefined> = { ...problems };
  for (const f of fields) errors[f.key] = submit.error?.field(`values/${f.key}`) ?? problems[f.key];
  return (
    <section aria-labelledby="catalog-title">
      <h1 id="catalog-title">
        {catalog.data.name} <code>{catalog.data.slug}</code>
      </h1>
      {records.data?.length === 0 && <Empty>No records yet.</Empty>}
      {records.data && records.data.length > 0 && (
        <table aria-label="Records">
          <thead>
            <tr>
              {fields.map((f) => (
                <th key={f.key}>{f.title}</th>
              ))}
              <th>Held by</th>
            </tr>
          </thead>
          <tbody>
            {records.data.map((r) => (
              <tr key={r.id}>
                {fields.map((f) => (
                  <td key={f.key}>{String(r.values[f.key] ?? '—')}</td>
                ))}
                <td>
                  {r.cluster_id ? (
                    <a href={`/clusters/${r.cluster_id}`}>{clusterName(r.cluster_id)}</a>
                  ) : (
                    'free'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={add} class="stack card" aria-labelledby="new-record">
        <h2 id="new-record">New record</h2>
        <ParamsForm
          params={catalog.data.schema}
          values={values}
          onChange={(next) => {
            setValues(next);
            setProblems({});
          }}
          errors={errors}
        />
        <FormError error={submit.error?.rest(fields.map((f) => `values/${f.key}`))} />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy}>
            Add record
          </button>
        </div>
      </form>
    </section>
  );
}
