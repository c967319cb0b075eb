// One PostgreSQL server for the whole run: DATABASE_URL when set (an admin connection the
// tests create their own databases through), else an embedded one under .commander-test.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type EmbeddedDatabase, startEmbedded } from '../../shared/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

let embedded: EmbeddedDatabase | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    // The run owns the server: if it dies mid-run, it comes back on the same port.
    embedded = await startEmbedded(join(process.cwd(), '.commander-test'), () => {}, {
      owner: {
        onLost(error) {
          process.stderr.write(`global setup: the embedded PostgreSQL is gone: ${error.message}\n`);
        },
      },
    });
    url = embedded.url;
  }
  project.provide('adminDatabaseUrl', url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
}
