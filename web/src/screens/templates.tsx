// Cluster templates: the list with their versions, and a new template from the editor.
import { get } from '../api';
import type { Template } from '../types';
import { Empty, useLoad } from '../ui';

export function TemplatesScreen() {
  const templates = useLoad(() => get<Template[]>('/cluster_templates?without_archived=true'), []);
  return (
    <section aria-labelledby="templates-title">
      <div class="title-row">
        <h1 id="templates-title">Templates</h1>
        <a class="button primary" href="/templates/new">
          Create template
        </a>
      </div>
      {templates.error && <p class="error">{templates.error}</p>}
      {templates.data?.length === 0 && <Empty>No templates yet.</Empty>}
      {templates.data && templates.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Comment</th>
              <th>Versions</th>
              <th>Current version</th>
            </tr>
          </thead>
          <tbody>
            {templates.data.map((t) => {
              const current = t.cluster_template_versions.find(
                (v) => v.id === t.current_cluster_template_version_id,
              );
              return (
                <tr key={t.id}>
                  <td>
                    <a href={`/templates/${t.id}`}>{t.name}</a>
                  </td>
                  <td>{t.comment || '—'}</td>
                  <td>{t.cluster_template_versions.length}</td>
                  <td>
                    {current ? `v${current.version}${current.comment ? ` — ${current.comment}` : ''}` : '—'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
