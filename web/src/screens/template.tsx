// One template: its versions, and the editor for a version's sections and parameter schema with
// a live preview rendered here, in the browser, by the project's own template engine. Saving
// makes a new version (or, for /templates/new, the template with its first version).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { renderTemplate } from '../../../shared/template/index.js';
import { api, get } from '../api';
import { type FormValues, initialValues } from '../params-form';
import { navigate } from '../router';
import type { Param, Template, Version } from '../types';
import { Field, FormError, TextField, useLoad, useSubmit } from '../ui';

const SECTIONS: [string, string][] = [
  ['cluster_configuration', 'Kubernetes'],
  ['provider_specific_cluster_configuration', 'Placement'],
  ['ssh_configuration', 'SSH parameters'],
  ['resources', 'Resources'],
  ['init_resources', 'Primary resources'],
  ['init_configuration', 'Installation'],
];

/** What the dc_* variables hold in a preview: examples, since no cluster exists yet. */
const PREVIEW_VARIABLES = {
  dc_clusterUUID: '00000000-0000-4000-8000-000000000000',
  dc_domain: location.host,
  dc_sshPublicKey: 'ssh-ed25519 AAAA… preview',
  dc_sshPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\npreview\n-----END OPENSSH PRIVATE KEY-----',
  dc_caBundle: '',
};

interface Draft {
  comment: string;
  params: string;
  sections: Record<string, string>;
}

function draftOf(version: Version | undefined): Draft {
  return {
    comment: '',
    params: JSON.stringify(version?.params ?? [], null, 2),
    sections: Object.fromEntries(SECTIONS.map(([key]) => [key, String(version?.[key] ?? '')])),
  };
}

export function TemplateScreen({ id }: { id: string }) {
  const isNew = id === 'new';
  const template = useLoad(
    () => (isNew ? Promise.resolve(undefined) : get<Template>(`/cluster_templates/${id}`)),
    [id],
  );
  const [versionId, setVersionId] = useState('');
  useEffect(() => {
    if (template.data && !versionId) setVersionId(template.data.current_cluster_template_version_id ?? '');
  }, [template.data, versionId]);
  const version = useLoad(
    () => (versionId ? get<Version>(`/cluster_template_versions/${versionId}`) : Promise.resolve(undefined)),
    [versionId],
  );
  const [name, setName] = useState('');
  const [draft, setDraft] = useState<Draft>(draftOf(undefined));
  const [section, setSection] = useState('cluster_configuration');
  const [sample, setSample] = useState('{}');
  // The sample values follow the schema's defaults until the person edits them.
  const [sampleEdited, setSampleEdited] = useState(false);
  const submit = useSubmit();
  const manage = useSubmit();

  useEffect(() => {
    if (isNew || version.data) {
      setDraft(draftOf(version.data));
      setSampleEdited(false);
    }
  }, [version.data, isNew]);

  const params = useMemo((): { value?: Param[]; error?: string } => {
    try {
      const parsed = JSON.parse(draft.params) as unknown;
      return Array.isArray(parsed) ? { value: parsed as Param[] } : { error: 'the schema is a JSON array' };
    } catch (err) {
      return { error: `not JSON: ${(err as Error).message}` };
    }
  }, [draft.params]);

  useEffect(() => {
    if (params.value && !sampleEdited) setSample(JSON.stringify(initialValues(params.value), null, 2));
  }, [params.value, sampleEdited]);

  const preview = useMemo(() => {
    let values: FormValues;
    try {
      values = JSON.parse(sample) as FormValues;
    } catch (err) {
      return { error: `sample values are not JSON: ${(err as Error).message}` };
    }
    try {
      return {
        text: renderTemplate(
          draft.sections[section] ?? '',
          { ...values, ...PREVIEW_VARIABLES },
          { name: section },
        ),
      };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }, [draft.sections, section, sample]);

  const save = async (event: Event) => {
    event.preventDefault();
    if (!params.value) return;
    const body = { comment: draft.comment, params: params.value, ...draft.sections };
    if (isNew) {
      const created = await submit.run(() =>
        api<Template>('POST', '/cluster_templates', { name, cluster_template_versions: [body] }),
      );
      if (created) navigate(`/templates/${created.id}`);
    } else {
      const created = await submit.run(() => api<Version>('POST', `/cluster_templates/${id}/versions`, body));
      if (created) {
        template.reload();
        setVersionId(created.id);
      }
    }
  };

  // Errors of a version created with the template are under cluster_template_versions/0.
  const fieldError = (key: string) =>
    submit.error?.field(key) ?? submit.error?.field(`cluster_template_versions/0/${key}`);
  const known = ['name', 'comment', 'params', ...SECTIONS.map(([k]) => k)];

  return (
    <section aria-labelledby="template-title">
      <h1 id="template-title">{isNew ? 'Create template' : (template.data?.name ?? 'Template')}</h1>
      {template.data && (
        <Field label="Version">
          {(fid) => (
            <select
              id={fid}
              value={versionId}
              onChange={(e) => setVersionId((e.target as HTMLSelectElement).value)}
            >
              {template.data?.cluster_template_versions.map((v) => (
                <option key={v.id} value={v.id}>
                  {`v${v.version}${v.id === template.data?.current_cluster_template_version_id ? ' (current)' : ''}${v.comment ? ` — ${v.comment}` : ''}${v.unusable ? ' — unusable' : ''}`}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {template.data && version.data && (
        <div class="actions version-actions">
          <button
            type="button"
            disabled={
              versionId === template.data.current_cluster_template_version_id ||
              version.data.unusable ||
              manage.busy
            }
            onClick={async () => {
              const t = template.data;
              if (!t) return;
              await manage.run(() =>
                api('PUT', `/cluster_templates/${t.id}`, {
                  name: t.name,
                  comment: t.comment,
                  current_revision: t.current_revision,
                  current_cluster_template_version_id: versionId,
                }),
              );
              template.reload();
            }}
          >
            Make current
          </button>
          <button
            type="button"
            disabled={manage.busy}
            onClick={async () => {
              const unusable = !version.data?.unusable;
              await manage.run(() => api('PUT', `/cluster_template_versions/${versionId}`, { unusable }));
              version.reload();
              template.reload();
            }}
          >
            {version.data.unusable ? 'Mark usable' : 'Mark unusable'}
          </button>
          <FormError error={manage.error?.message} />
        </div>
      )}
      <form onSubmit={save} class="stack">
        {isNew && (
          <TextField
            label="Template name"
            value={name}
            onInput={setName}
            error={fieldError('name')}
            required
          />
        )}
        <TextField
          label="Version comment"
          value={draft.comment}
          onInput={(comment) => setDraft({ ...draft, comment })}
          error={fieldError('comment')}
        />
        <Field label="Parameter schema (JSON)" error={params.error ?? fieldError('params')}>
          {(fid, describedBy) => (
            <textarea
              id={fid}
              class="code"
              rows={8}
              spellcheck={false}
              aria-describedby={describedBy}
              value={draft.params}
              onInput={(e) => setDraft({ ...draft, params: (e.target as HTMLTextAreaElement).value })}
            />
          )}
        </Field>
        <nav class="tabs" aria-label="Sections">
          {SECTIONS.map(([key, label]) => (
            <button key={key} type="button" aria-pressed={section === key} onClick={() => setSection(key)}>
              {label}
            </button>
          ))}
        </nav>
        <div class="editor">
          <Field label={`Section: ${SECTIONS.find(([k]) => k === section)?.[1]}`} error={fieldError(section)}>
            {(fid, describedBy) => (
              <textarea
                id={fid}
                class="code"
                rows={18}
                spellcheck={false}
                aria-describedby={describedBy}
                value={draft.sections[section]}
                onInput={(e) =>
                  setDraft({
                    ...draft,
                    sections: { ...draft.sections, [section]: (e.target as HTMLTextAreaElement).value },
                  })
                }
              />
            )}
          </Field>
          <div class="field">
            <span class="label">Preview</span>
            {preview.error ? (
              <pre class="code preview error">{preview.error}</pre>
            ) : (
              <pre class="code preview">{preview.text}</pre>
            )}
          </div>
        </div>
        <Field label="Sample values for the preview (JSON)">
          {(fid) => (
            <textarea
              id={fid}
              class="code"
              rows={4}
              spellcheck={false}
              value={sample}
              onInput={(e) => {
                setSampleEdited(true);
                setSample((e.target as HTMLTextAreaElement).value);
              }}
            />
          )}
        </Field>
        <FormError
          error={submit.error?.rest(known.flatMap((k) => [k, `cluster_template_versions/0/${k}`]))}
        />
        <div class="actions">
          <button type="submit" class="primary" disabled={submit.busy || !params.value}>
            {isNew ? 'Create template' : 'Save as new version'}
          </button>
        </div>
      </form>
    </section>
  );
}
