// What counts as drift: only the fields we apply, so values the API server adds or another
// manager owns never make the agent apply again; and how quantities are read for telemetry.
import { describe, expect, it } from 'vitest';
import { covers } from '../../agent/reconciler.js';
import { parseQuantity } from '../../agent/telemetry.js';

describe('drift comparison', () => {
  const desired = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
  };

  it('ignores defaulted fields and fields of other managers', () => {
    const live = structuredClone(desired) as any;
    live.metadata.resourceVersion = '42';
    live.metadata.labels.team = 'other';
    live.spec.strategy = { type: 'RollingUpdate' };
    live.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
    live.status = { readyReplicas: 2 };
    expect(covers(desired, live)).toBe(true);
  });

  it('sees a changed value, a removed field and a changed list', () => {
    const changed = structuredClone(desired) as any;
    changed.spec.replicas = 5;
    expect(covers(desired, changed)).toBe(false);
    const removed = structuredClone(desired) as any;
    delete removed.metadata.labels.app;
    expect(covers(desired, removed)).toBe(false);
    const longer = structuredClone(desired) as any;
    longer.spec.template.spec.containers.push({ name: 'sidecar', image: 'busybox' });
    expect(covers(desired, longer)).toBe(false);
  });
});

describe('quantities', () => {
  it('reads the forms Kubernetes uses', () => {
    expect(parseQuantity('4')).toBe(4);
    expect(parseQuantity('3800m')).toBeCloseTo(3.8);
    expect(parseQuantity('16Gi')).toBe(16 * 2 ** 30);
    expect(parseQuantity('16384Ki')).toBe(16 * 2 ** 20);
    expect(parseQuantity('1e9')).toBe(1e9);
    expect(parseQuantity('500M')).toBe(5e8);
    expect(parseQuantity('lots')).toBe(0);
  });
});
