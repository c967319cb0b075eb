// docs/access.md's walkthrough, run as written against `commander up` (test/support/walkthrough.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  docBlocks,
  startWalkthrough,
  type Walkthrough,
  walkthroughRunnable,
} from '../support/walkthrough.js';

describe.skipIf(!walkthroughRunnable && !process.env.CI)('docs/access.md, run as written', () => {
  let walkthrough: Walkthrough;

  beforeAll(async () => {
    walkthrough = await startWalkthrough('commander-access-doc-');
  }, 120_000);
  afterAll(() => walkthrough?.stop());

  it('makes a global token, a workspace and its bindings, and keeps the two kinds of token apart', async () => {
    const blocks = docBlocks('access.md', 'Walkthrough');
    expect(blocks).toHaveLength(3);
    const run = await walkthrough.run(blocks);
    expect(run.status, run.trace).toBe(0);
    const [workspaces, bindings, wall] = run.outputs.map((output) => output.trim().split('\n')) as [
      string[],
      string[],
      string[],
    ];

    const [listed, createdLine, rolesLine] = workspaces as [string, string, string];
    expect(JSON.parse(listed).map((w: { slug: string }) => w.slug)).toEqual(['default']);
    const created = JSON.parse(createdLine);
    expect(created).toMatchObject({ name: 'Edge sites', slug: expect.stringMatching(/^[a-z]{5}$/) });
    const roles = JSON.parse(rolesLine);
    expect(roles.map((role: { name: string }) => role.name)).toEqual(['global_viewer', 'global_admin']);
    expect(roles[1].permissions).toContain('workspace_role_bindings:write');

    const [group, user, duplicate, list] = bindings as [string, string, string, string];
    expect(JSON.parse(group)).toMatchObject({
      workspace_id: created.id,
      role: 'operator',
      subject_kind: 'group',
      subject_name: 'edge-ops',
      archived_at: null,
    });
    expect(JSON.parse(user)).toMatchObject({
      role: 'viewer',
      subject_kind: 'user',
      subject_name: 'jane@example.com',
    });
    expect(duplicate).toMatch(/"code":"NAME_TAKEN".*body\/subject_name.*\}409$/);
    expect(
      JSON.parse(list)
        .map((b: { subject_name: string }) => b.subject_name)
        .sort(),
    ).toEqual(['edge-ops', 'jane@example.com']);

    const [globalRefused, workspaceRefused, edgeClusters, auditLine] = wall as [
      string,
      string,
      string,
      string,
    ];
    expect(globalRefused).toMatch(
      /"code":"FORBIDDEN".*a global token cannot reach a workspace's objects.*\}403$/,
    );
    expect(workspaceRefused).toMatch(/"code":"FORBIDDEN".*this needs a global token.*\}403$/);
    expect(JSON.parse(edgeClusters)).toEqual([]);
    const audit = JSON.parse(auditLine) as Record<string, unknown>[];
    expect(audit.map((r) => [r.auditable_type, r.action])).toEqual([
      ['WorkspaceRoleBinding', 'create'],
      ['WorkspaceRoleBinding', 'create'],
      ['Workspace', 'create'],
      ['AuthToken', 'create'],
    ]);
    for (const record of audit.slice(0, 3)) {
      expect(record).toMatchObject({
        user_type: 'AuthToken',
        user_name: 'fleet admin',
        workspace_slug: null,
      });
    }
    // The token itself was made by the CLI, straight in the database.
    expect(audit[3]).toMatchObject({ user_type: 'System', user_name: 'commander token create' });
    // The workspace token's calls and the global token's never share a trail.
    expect(auditLine).not.toContain('edge ci');
  }, 180_000);
});
