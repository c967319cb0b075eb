// Where the agent keeps its key: --identity-secret (or COMMANDER_AGENT_IDENTITY_SECRET), the
// default Secret inside a pod, and the state directory elsewhere.
import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_SECRET, loadAgentConfig, parseIdentitySecret } from '../../agent/config.js';
import { ConfigError } from '../../shared/config.js';

const CLUSTER = '6f1c2c52-7a53-4a3e-9f0e-0b7d2f0d7a11';
const base = { url: `http://gw.example/agent_api/${CLUSTER}`, 'state-dir': '/tmp/agent-state' };

describe('identity Secret settings', () => {
  it('outside a pod: the state directory unless a Secret is named', () => {
    expect(loadAgentConfig(base, {}, undefined).identitySecret).toBeUndefined();
    expect(
      loadAgentConfig({ ...base, 'identity-secret': 'ops/agent-key' }, {}, undefined).identitySecret,
    ).toEqual({
      namespace: 'ops',
      name: 'agent-key',
    });
    expect(
      loadAgentConfig(base, { COMMANDER_AGENT_IDENTITY_SECRET: 'ops/from-env' }, undefined).identitySecret,
    ).toEqual({ namespace: 'ops', name: 'from-env' });
  });

  it("inside a pod: the default Secret in the pod's namespace, or a name there", () => {
    expect(loadAgentConfig(base, {}, 'team-a').identitySecret).toEqual({
      namespace: 'team-a',
      name: DEFAULT_IDENTITY_SECRET,
    });
    expect(parseIdentitySecret('mine', 'team-a')).toEqual({ namespace: 'team-a', name: 'mine' });
    expect(parseIdentitySecret('other/mine', 'team-a')).toEqual({ namespace: 'other', name: 'mine' });
  });

  it('refuses what is not <namespace>/<name>, naming the flag', () => {
    for (const bad of ['a/b/c', 'Upper/name', 'ns/', '/name', 'ns/Bad_Name', `${'x'.repeat(64)}/name`]) {
      expect(() => parseIdentitySecret(bad, 'team-a'), bad).toThrow(ConfigError);
      expect(() => parseIdentitySecret(bad, 'team-a'), bad).toThrow(/^--identity-secret: must be/);
    }
    expect(() => parseIdentitySecret('name-only', undefined)).toThrow(
      /names no namespace, and this is not a pod/,
    );
  });
});
