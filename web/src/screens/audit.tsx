// The workspace's audit log (the global one for a global token), newest first, paged backwards.
import { useState } from 'preact/hooks';
import { get } from '../api';
import type { AuditRecord } from '../types';
import { Empty, useLoad } from '../ui';
import { AuditTable } from './cluster';

const PAGE = 100;

export function AuditScreen() {
  const [pages, setPages] = useState<AuditRecord[][]>([]);
  const first = useLoad(() => get<AuditRecord[]>(`/audit?limit=${PAGE}`), []);
  const all = [...(first.data ?? []), ...pages.flat()];
  const last = all[all.length - 1];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      {first.error && <p class="error">{first.error}</p>}
      {first.data?.length === 0 && <Empty>Nothing audited yet.</Empty>}
      <AuditTable records={all} />
      {last && (first.data?.length ?? 0) + pages.flat().length >= PAGE * (pages.length + 1) && (
        <button
          type="button"
          onClick={async () =>
            setPages([...pages, await get<AuditRecord[]>(`/audit?limit=${PAGE}&before_id=${last.id}`)])
          }
        >
          Older
        </button>
      )}
    </section>
  );
}
