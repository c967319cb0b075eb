// Create a cluster from a template version: its name, the version, a registry, and the version's
// parameters form. The API's errors show beside the field they name.
import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../api';
import { type FormValues, initialValues, ParamsForm, valueProblems } from '../params-form';
import { navigate } from '../router';
import type { Cluster, Registry, Template, Version } from '../types';
import { Field, FormError, TextField, useLoad, useSubmit } from '../ui';

export function CreateCluster() {
  const templates = useLoad(() => get<Template[]>('/cluster_templates?without_archived=true'), []);
  const registries = useLoad(() => get<Registry[]>('/registries'), []);
  const [name, setName] = useState('');
  const [templateId, setTemplateId] = useState('');
  const [versionId, setVersionId] = useState('');
  const [registryId, setRegistryId] = useState('');
  const [values, setValues] = useState<FormValues>({});
  const [problems, setProblems] = useState<Record<string, string>>({});
  const submit = useSubmit();
  const template = templates.data?.find((t) => t.id === templateId);
  const version = useLoad(
    () => (versionId ? get<Version>(`/cluster_template_versions/${versionId}`) : Promise.resolve(undefined)),
    [versionId],
  );
  useEffect(() => {
    if (version.data) setValues(initialValues(version.data.params));
  }, [version.data]);

  const create = async (event: Event) => {
    event.preventDefault();
    if (!version.data) return;
    const found = valueProblems(version.data.params, values);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const sent = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '' && v !== undefined));
    const created = await submit.run(() =>
      api<Cluster>('POST', '/clusters', {
        name,
        cluster_template_version_id: versionId,
        values: sent,
        ...(registryId ? { registry_id: registryId } : {}),
      }),
    );
    if (created) navigate(`/clusters/${created.id}`);
  };

  const fieldErrors: Record<string, string | undefined> = { ...problems };
  for (const key of Object.keys(values))
    fieldErrors[key] = submit.error?.field(`values/${key}`) ?? problems[key];
  const known = [
    'name',
    'cluster_template_version_id',
    'registry_id',
    ...Object.keys(values).map((k) => `values/${k}`),
  ];

  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">Create cluster</h1>
      <form onSubmit={create} class="stack">
        <TextField label="Name" value={name} onInput={setName} error={submit.error?.field('name')} required />
        <Field label="Template" error={submit.error?.field('cluster_template_version_id')}>
          {(id) => (
            <select
              id={id}
              value={templateId}
              onChange={(e) => {
                const chosen = (e.target as HTMLSelectElement).value;
                setTemplateId(chosen);
                const t = templates.data?.find((x) => x.id === chosen);
                setVersionId(t?.current_cluster_template_version_id ?? '');
              }}
            >
              <option value="">Choose a template…</option>
              {(templates.data ?? []).map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        {template && (
          <Field label="Version">
            {(id) => (
              <select
                id={id}
                value={versionId}
                onChange={(e) => setVersionId((e.target as HTMLSelectElement).value)}
              >
                {template.cluster_template_versions
                  .filter((v) => !v.unusable)
                  .map((v) => (
                    <option key={v.id} value={v.id}>
                      {`v${v.version}${v.name && v.name !== `v${v.version}` ? ` ${v.name}` : ''}${v.comment ? ` — ${v.comment}` : ''}`}
                    </option>
                  ))}
              </select>
            )}
          </Field>
        )}
        <Field label="Container registry" error={submit.error?.field('registry_id')}>
          {(id) => (
            <select
              id={id}
              value={registryId}
              onChange={(e) => setRegistryId((e.target as HTMLSelectElement).value)}
            >
              <option value="">None</option>
              {(registries.data ?? []).map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
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
              errors={fieldErrors}
            />
          </fieldset>
        )}
        <FormError error={submit.error?.rest(known)} />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy || !version.data}>
            Create
          </button>
          <a class="button" href="/clusters">
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
