// Live updates: the gateway's server-sent events at /api/v1/events, read with fetch() so the
// token travels in a header (EventSource cannot set one). One stream per tab, reopened after a
// pause that grows on failure; every subscriber hears a `reconnected` event to fetch afresh.
import { useEffect, useRef } from 'preact/hooks';
import { authHeaders, session } from './session';

export interface LiveEvent {
  type: 'cluster' | 'task' | 'change_request' | 'record' | 'reconnected';
  id?: string;
  cluster_id?: string;
}

type Listener = (event: LiveEvent) => void;
const listeners = new Set<Listener>();
let controller: AbortController | undefined;

function publish(event: LiveEvent): void {
  for (const listener of listeners) listener(event);
}

async function run(signal: AbortSignal): Promise<void> {
  let pause = 500;
  while (!signal.aborted) {
    const token = session.token();
    try {
      const response = await fetch('/api/v1/events', {
        headers: { accept: 'text/event-stream', ...authHeaders(token) },
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
      pause = 500;
      publish({ type: 'reconnected' });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (data) {
            try {
              publish(JSON.parse(data) as LiveEvent);
            } catch {
              // A line that is not an event is skipped; the next one may be.
            }
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 15_000);
  }
}

/** Opens the stream with the current token; called again after sign in or a workspace switch. */
export function startEvents(): void {
  controller?.abort();
  controller = new AbortController();
  void run(controller.signal);
}

export function stopEvents(): void {
  controller?.abort();
  controller = undefined;
}

/**
 * Calls `handler` for matching events, at most once per `delayMs`: a thousand clusters' telemetry
 * would otherwise refetch a list a thousand times a second.
 */
export function useLive(match: (event: LiveEvent) => boolean, handler: () => void, delayMs = 300): void {
  const latest = useRef({ match, handler });
  latest.current = { match, handler };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const listener: Listener = (event) => {
      if (event.type !== 'reconnected' && !latest.current.match(event)) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        latest.current.handler();
      }, delayMs);
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (timer) clearTimeout(timer);
    };
  }, [delayMs]);
}
