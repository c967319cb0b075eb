// Small pieces every screen uses: loading data, labelled fields with their API error, badges,
// confirmation, and screens loaded on demand (so the first screen stays small).
import type { ComponentChildren, ComponentType } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Fetches with `load` when `key` changes and on reload(); keeps the old data while refetching. */
export function useLoad<T>(load: () => Promise<T>, key: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => live && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [...key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

export function Badge({ word }: { word: [string, string] | undefined }) {
  const [label, tone] = word ?? ['—', 'idle'];
  return <span class={`badge ${tone}`}>{label}</span>;
}

export function Field(props: {
  label: string;
  error?: string;
  hint?: string;
  span?: number;
  children: (id: string, describedBy: string | undefined) => ComponentChildren;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div class="field" style={props.span ? { gridColumn: `span ${props.span}` } : undefined}>
      <label for={id}>{props.label}</label>
      {props.children(id, props.error ? errorId : undefined)}
      {props.hint && <small class="hint">{props.hint}</small>}
      {props.error && (
        <small class="error" id={errorId} role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** A text input with its label and error. */
export function TextField(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  error?: string;
  type?: 'text' | 'password';
  required?: boolean;
  placeholder?: string;
}) {
  return (
    <Field label={props.label} error={props.error}>
      {(id, describedBy) => (
        <input
          id={id}
          type={(props.type ?? 'text') as 'text'}
          value={props.value}
          required={props.required}
          placeholder={props.placeholder}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={describedBy}
          onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
        />
      )}
    </Field>
  );
}

export function FormError({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** Runs an API call for a form: busy while it runs, the ApiError kept for the fields. */
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err), []));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

/** A modal that names what it confirms; Escape or Cancel closes it. */
export function Confirm(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  disabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} onCancel={props.onCancel} aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.children}
      <div class="actions">
        <button type="button" class="danger" disabled={props.disabled} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** A screen whose code is fetched the first time it is shown. */
export function lazy<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  return function Lazy(props: P) {
    const [component, setComponent] = useState<ComponentType<P> | undefined>(() => loaded);
    useEffect(() => {
      if (!loaded) {
        void load().then((c) => {
          loaded = c;
          setComponent(() => c);
        });
      }
    }, []);
    const C = component;
    return C ? <C {...props} /> : <p class="muted">Loading…</p>;
  };
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}
