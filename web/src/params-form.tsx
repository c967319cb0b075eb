// A template version's (or a catalog's) parameters as a form: enums as selects, catalog
// parameters as record pickers, immutable fields locked once set, spans as columns of a
// four-column grid. Values are checked the way the API checks them (shared/params), and the
// API's own message for a field shows beside it.
import { useMemo } from 'preact/hooks';
import type { Params } from '../../shared/params/schema.js';
import { checkValues, recordIdOf } from '../../shared/params/values.js';
import { get } from './api';
import type { Catalog, InventoryRecord, Param, ParamField } from './types';
import { Field, useLoad } from './ui';

export type FormValues = Record<string, unknown>;

const isField = (param: Param): param is ParamField => 'key' in param;

/** What the form holds for a field, as the API takes it (numbers as numbers, records by id). */
export function initialValues(params: Param[], stored: FormValues = {}): FormValues {
  const values: FormValues = {};
  for (const param of params) {
    if (!isField(param)) continue;
    const value = stored[param.key];
    if (param.catalog) {
      const ids = (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(recordIdOf);
      values[param.key] = param.minItems !== undefined || param.maxItems !== undefined ? ids : ids[0];
    } else if (value !== undefined) values[param.key] = value;
    else if (param.default !== undefined) values[param.key] = param.default;
  }
  return values;
}

/** The problems shared/params finds, by key, before anything is sent. */
export function valueProblems(
  params: Param[],
  values: FormValues,
  previous?: FormValues,
): Record<string, string> {
  const sent = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '' && v !== undefined));
  const checked = checkValues(params as Params, sent, { previous });
  return Object.fromEntries(checked.errors.map((e) => [e.key, e.message]));
}

/** A record in one line: its identifier fields (all fields when none is marked). */
export function recordLabel(catalog: Catalog | undefined, record: InventoryRecord): string {
  const fields = (catalog?.schema ?? []).filter(isField);
  const marked = fields.filter((f) => f.identifier);
  const keys = (marked.length ? marked : fields).map((f) => f.key);
  const parts = (keys.length ? keys : Object.keys(record.values)).map((k) => String(record.values[k] ?? ''));
  return parts.filter(Boolean).join(' · ') || record.id;
}

export function ParamsForm(props: {
  params: Param[];
  values: FormValues;
  onChange: (values: FormValues) => void;
  errors: Record<string, string | undefined>;
  /** What is stored now: immutable fields that hold a value are locked. */
  previous?: FormValues;
  /** The cluster being edited: records it holds may be picked again. */
  clusterId?: string;
}) {
  const needsCatalogs = props.params.some((p) => isField(p) && p.catalog);
  const catalogs = useLoad(
    () => (needsCatalogs ? get<Catalog[]>('/catalogs?without_archived=true') : Promise.resolve([])),
    [needsCatalogs],
  );
  const records = useLoad(
    () => (needsCatalogs ? get<InventoryRecord[]>('/records?without_archived=true') : Promise.resolve([])),
    [needsCatalogs],
  );
  const bySlug = useMemo(() => new Map((catalogs.data ?? []).map((c) => [c.slug, c])), [catalogs.data]);
  const set = (key: string, value: unknown) => props.onChange({ ...props.values, [key]: value });

  return (
    <div class="params-grid">
      {props.params.map((param, index) => {
        if (!isField(param)) {
          return (
            <h3 class="params-header" key={`h${index}`}>
              {param.header}
            </h3>
          );
        }
        const locked =
          param.immutable === true && props.previous !== undefined && props.previous[param.key] !== undefined;
        const value = props.values[param.key];
        const list = param.minItems !== undefined || param.maxItems !== undefined;
        return (
          <Field
            key={param.key}
            label={param.title}
            span={Math.min(4, Math.max(1, param.span ?? 1))}
            hint={[param.description, locked ? 'locked: set once, cannot change' : '']
              .filter(Boolean)
              .join(' — ')}
            error={props.errors[param.key]}
          >
            {(id, describedBy) => {
              const common = {
                id,
                name: param.key,
                disabled: locked,
                'aria-describedby': describedBy,
                'aria-invalid': props.errors[param.key] ? true : undefined,
              };
              if (param.catalog) {
                const catalog = bySlug.get(param.catalog);
                const choices = (records.data ?? []).filter(
                  (r) =>
                    r.catalog_id === catalog?.id &&
                    (r.cluster_id === null ||
                      r.cluster_id === props.clusterId ||
                      (Array.isArray(value) ? value.includes(r.id) : value === r.id)),
                );
                return (
                  <select
                    {...common}
                    multiple={list}
                    value={list ? undefined : String(value ?? '')}
                    onChange={(e) => {
                      const select = e.target as HTMLSelectElement;
                      set(param.key, list ? [...select.selectedOptions].map((o) => o.value) : select.value);
                    }}
                  >
                    {!list && (
                      <option value="">{catalog ? 'Choose a record…' : `no catalog ${param.catalog}`}</option>
                    )}
                    {choices.map((r) => (
                      <option
                        key={r.id}
                        value={r.id}
                        selected={list ? Array.isArray(value) && value.includes(r.id) : undefined}
                      >
                        {recordLabel(catalog, r)}
                      </option>
                    ))}
                  </select>
                );
              }
              if (param.enum) {
                return (
                  <select
                    {...common}
                    value={value === undefined ? '' : String(value)}
                    onChange={(e) => {
                      const text = (e.target as HTMLSelectElement).value;
                      set(param.key, param.enum?.find((choice) => String(choice) === text) ?? '');
                    }}
                  >
                    <option value="">Choose…</option>
                    {param.enum.map((choice) => (
                      <option key={String(choice)} value={String(choice)}>
                        {String(choice)}
                      </option>
                    ))}
                  </select>
                );
              }
              if (param.type === 'boolean') {
                return (
                  <input
                    {...common}
                    type="checkbox"
                    checked={value === true}
                    onChange={(e) => set(param.key, (e.target as HTMLInputElement).checked)}
                  />
                );
              }
              if (param.type === 'number') {
                return (
                  <input
                    {...common}
                    type="number"
                    value={value === undefined ? '' : String(value)}
                    onInput={(e) => {
                      const text = (e.target as HTMLInputElement).value;
                      set(param.key, text === '' ? undefined : Number(text));
                    }}
                  />
                );
              }
              const text = value === undefined ? '' : String(value);
              const onInput = (e: Event) => set(param.key, (e.target as HTMLInputElement).value);
              return param.format === 'password' ? (
                <input {...common} type="password" value={text} onInput={onInput} />
              ) : (
                <input {...common} type="text" value={text} onInput={onInput} />
              );
            }}
          </Field>
        );
      })}
    </div>
  );
}
