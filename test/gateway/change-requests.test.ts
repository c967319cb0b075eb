// Cluster change requests through the API: listing by cluster, approving (audited, a reconcile
// queued), the 409 words Commander's clients look for, workspace isolation; and how the manager's
// verdicts open, keep, replace and cancel requests (shared/change-requests.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelOpenRequests, completeChangeRequest, requestChange } from '../../shared/change-requests.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

describe('cluster change requests', () => {
  let gw: TestGateway;
  let operator: string;
  let viewer: string;
  let stranger: string;
  let workspaceId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator', 'alpha');
    viewer = await gw.token('viewer', 'alpha');
    stranger = await gw.token('admin', 'beta');
    workspaceId = (await gw.db.sql`select id from workspaces where slug = 'alpha'`)[0]?.id;
  });
  afterAll(() => gw.close());

  /** A created cluster the manager can reach, as an install leaves it. */
  const cluster = async (name: string, status = 'in_sync') =>
    (
      await gw.db
        .sql`insert into clusters (workspace_id, name, status, ssh_host, ssh_port, ssh_user, was_created)
        values (${workspaceId}, ${name}, ${status}, '10.0.0.1', 22, 'root', true) returning id`
    )[0]?.id as string;
  const open = async (clusterId: string, change: string | null) =>
    (await gw.db.sql.begin((tx) => requestChange(tx, clusterId, change))).request;
  const approve = (id: string, token = operator) =>
    gw.request('POST', `/api/v1/cluster_change_requests/${id}/approve`, { token });

  it('lists a pending request and approves it once, queuing the reconcile that applies it', async () => {
    const id = await cluster('resize-me');
    const request = await open(id, 'masters-3-to-1');
    const list = await gw.request('GET', `/api/v1/cluster_change_requests?cluster_id=${id}`, {
      token: viewer,
    });
    expect(list.status).toBe(200);
    expect(list.body).toEqual([
      expect.objectContaining({
        id: request.id,
        cluster_id: id,
        status: 'pending',
        destructive_change_id: 'masters-3-to-1',
        approved_at: null,
        approved_by: null,
      }),
    ]);

    expect((await approve(request.id, viewer)).status).toBe(403);
    const approved = await approve(request.id);
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body).toMatchObject({
      id: request.id,
      status: 'approved',
      approved_by: 'operator-alpha',
    });
    expect(approved.body.approved_at).not.toBeNull();
    const [task] = await gw.db
      .sql`select id, status from tasks where cluster_id = ${id} and kind = 'reconcile'`;
    expect(task?.status).toBe('pending');
    expect(gw.audit.at(-1)).toMatchObject({
      auditable_type: 'ClusterChangeRequest',
      auditable_id: request.id,
      action: 'approve',
      user_type: 'AuthToken',
      user_name: 'operator-alpha',
      workspace_slug: 'alpha',
      audited_changes: {
        status: ['pending', 'approved'],
        cluster_id: id,
        destructive_change_id: 'masters-3-to-1',
        task_id: task?.id,
      },
    });

    const twice = await approve(request.id);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('ALREADY_APPROVED');
    expect(twice.text.toLowerCase()).toContain('already_approved');

    await gw.db.sql.begin((tx) => completeChangeRequest(tx, request.id));
    const done = await approve(request.id);
    expect(done.status).toBe(409);
    expect(done.body.error.code).toBe('ALREADY_COMPLETED');
    expect(done.text.toLowerCase()).toContain('already_completed');
    expect(
      (await gw.request('GET', `/api/v1/cluster_change_requests/${request.id}`, { token: viewer })).body,
    ).toMatchObject({ status: 'completed' });
  });

  it('refuses to approve for a cluster that cannot be converged', async () => {
    for (const status of [
      'delete',
      'deleted',
      'deletion_failed',
      'new',
      'creating',
      'creation_failed',
      'configuration_error',
    ]) {
      const id = await cluster(`cannot-${status}`, status);
      const request = await open(id, 'chg');
      const refused = await approve(request.id);
      expect(refused.status, status).toBe(409);
      expect(refused.body.error.code).toBe('CLUSTER_CANNOT_BE_CONVERGED');
      expect(refused.text.toLowerCase()).toContain('cluster_cannot_be_converged');
      expect(refused.text).toContain(status);
    }
    // Nothing was approved or queued.
    expect(
      (
        await gw.db.sql`select count(*)::int as n from cluster_change_requests where status = 'approved'
        and cluster_id in (select id from clusters where name like 'cannot-%')`
      )[0]?.n,
    ).toBe(0);
  });

  it('keeps one open request per cluster: the same change keeps it, another replaces it', async () => {
    const id = await cluster('changes-mind');
    const first = await open(id, 'a');
    expect((await open(id, 'a')).id).toBe(first.id);
    const second = await open(id, 'b');
    expect(second.id).not.toBe(first.id);
    const list = await gw.request('GET', `/api/v1/cluster_change_requests?cluster_id=${id}`, {
      token: viewer,
    });
    expect(
      list.body.map((r: { status: string; destructive_change_id: string }) => [
        r.destructive_change_id,
        r.status,
      ]),
    ).toEqual([
      ['b', 'pending'],
      ['a', 'cancelled'],
    ]);
    // A cancelled request is closed: approving it is nothing to do.
    const closed = await approve(first.id);
    expect(closed.status).toBe(409);
    expect(closed.text.toLowerCase()).toContain('already_completed');
    const pendingOnly = await gw.request(
      'GET',
      `/api/v1/cluster_change_requests?cluster_id=${id}&status=pending`,
      {
        token: viewer,
      },
    );
    expect(pendingOnly.body.map((r: { id: string }) => r.id)).toEqual([second.id]);
    // The check reporting no destructive change cancels what is open.
    expect((await gw.db.sql.begin((tx) => cancelOpenRequests(tx, id))).map((r) => r.id)).toEqual([second.id]);
    // Racing verdicts of several replicas still leave one open request.
    await Promise.all([1, 2, 3, 4].map(() => open(id, 'c')));
    const [openCount] = await gw.db.sql`select count(*)::int as n from cluster_change_requests
      where cluster_id = ${id} and status in ('pending', 'approved')`;
    expect(openCount?.n).toBe(1);
  });

  it("answers another workspace's requests 404 and checks its query", async () => {
    const id = await cluster('private');
    const request = await open(id, 'x');
    expect(
      (await gw.request('GET', `/api/v1/cluster_change_requests/${request.id}`, { token: stranger })).status,
    ).toBe(404);
    expect((await approve(request.id, stranger)).status).toBe(404);
    expect(
      (await gw.request('GET', `/api/v1/cluster_change_requests?cluster_id=${id}`, { token: stranger })).body,
    ).toEqual([]);
    expect((await gw.request('GET', '/api/v1/cluster_change_requests', { token: stranger })).body).toEqual(
      [],
    );
    expect((await approve(NO_SUCH_ID)).status).toBe(404);
    const bad = await gw.request('GET', '/api/v1/cluster_change_requests?cluster_id=nope', { token: viewer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('cluster_id');
    const badStatus = await gw.request('GET', '/api/v1/cluster_change_requests?status=done', {
      token: viewer,
    });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.message).toContain('status');
    expect(
      (await gw.db.sql`select status from cluster_change_requests where id = ${request.id}`)[0]?.status,
    ).toBe('pending');
  });
});
