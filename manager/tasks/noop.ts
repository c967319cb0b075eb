// A task that only logs: it measures and tests the queue without touching any cluster.
import type { TaskHandler } from '../worker.js';

export const noopTask: TaskHandler = async ({ task, log, signal, replica }) => {
  const sleepMs = Number(task.params.sleep_ms ?? 0);
  await log(`noop start attempt=${task.attempts} replica=${replica}`);
  if (sleepMs > 0) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, sleepMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
  }
  await log(`noop finish replica=${replica}`);
};
