// Generated from charts/commander-agent by test/charts/agent-bundle.test.ts (run it with
// UPDATE_AGENT_CHART=1 after changing the chart): `helm template` with the bootstrap bundle's
// values, where each placeholder marks a value of the cluster. Do not edit by hand.
export const AGENT_CHART = {
  release: 'commander-agent',
  namespace: 'commander-agent',
  placeholders: {
    url: 'https://commander.invalid/agent_api/00000000-0000-0000-0000-000000000000',
    token: 'bundle-enrollment-token.invalid',
    allow: 'bundle-allow.invalid:1',
    image: 'commander.invalid/bundle-image:placeholder',
  },
  objects: [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'commander-agent',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'commander-agent',
        namespace: 'commander-agent',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'commander-agent-enrollment',
        namespace: 'commander-agent',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      type: 'Opaque',
      stringData: {
        token: 'bundle-enrollment-token.invalid',
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: 'commander-agent-manage',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      rules: [
        {
          apiGroups: ['*'],
          resources: ['*'],
          verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: 'commander-agent-telemetry',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      rules: [
        {
          apiGroups: [''],
          resources: ['nodes', 'persistentvolumes', 'persistentvolumeclaims'],
          verbs: ['get', 'list'],
        },
        {
          apiGroups: ['apps'],
          resources: ['deployments', 'daemonsets', 'statefulsets'],
          verbs: ['get', 'list'],
        },
        {
          apiGroups: ['apiextensions.k8s.io'],
          resources: ['customresourcedefinitions'],
          verbs: ['get'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: {
        name: 'commander-agent-manage',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'commander-agent-manage',
      },
      subjects: [
        {
          kind: 'ServiceAccount',
          name: 'commander-agent',
          namespace: 'commander-agent',
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: {
        name: 'commander-agent-telemetry',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'commander-agent-telemetry',
      },
      subjects: [
        {
          kind: 'ServiceAccount',
          name: 'commander-agent',
          namespace: 'commander-agent',
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: {
        name: 'commander-agent-ownership',
        namespace: 'kube-system',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      rules: [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: ['commander-ownership'],
          verbs: ['get', 'update', 'patch'],
        },
        {
          apiGroups: [''],
          resources: ['configmaps'],
          verbs: ['create'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: {
        name: 'commander-agent-identity',
        namespace: 'commander-agent',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      rules: [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: ['commander-agent-identity'],
          verbs: ['get', 'update'],
        },
        {
          apiGroups: [''],
          resources: ['secrets'],
          verbs: ['create'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {
        name: 'commander-agent-ownership',
        namespace: 'kube-system',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'commander-agent-ownership',
      },
      subjects: [
        {
          kind: 'ServiceAccount',
          name: 'commander-agent',
          namespace: 'commander-agent',
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {
        name: 'commander-agent-identity',
        namespace: 'commander-agent',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'commander-agent-identity',
      },
      subjects: [
        {
          kind: 'ServiceAccount',
          name: 'commander-agent',
          namespace: 'commander-agent',
        },
      ],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'commander-agent',
        namespace: 'commander-agent',
        labels: {
          'app.kubernetes.io/name': 'commander-agent',
          'app.kubernetes.io/instance': 'commander-agent',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/part-of': 'commander',
        },
      },
      spec: {
        replicas: 1,
        strategy: {
          type: 'Recreate',
        },
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': 'commander-agent',
            'app.kubernetes.io/instance': 'commander-agent',
          },
        },
        template: {
          metadata: {
            labels: {
              'app.kubernetes.io/name': 'commander-agent',
              'app.kubernetes.io/instance': 'commander-agent',
              'app.kubernetes.io/version': '0.1.0',
              'app.kubernetes.io/part-of': 'commander',
            },
          },
          spec: {
            serviceAccountName: 'commander-agent',
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              fsGroup: 65532,
              seccompProfile: {
                type: 'RuntimeDefault',
              },
            },
            containers: [
              {
                name: 'agent',
                image: 'commander.invalid/bundle-image:placeholder',
                imagePullPolicy: 'IfNotPresent',
                args: ['agent'],
                env: [
                  {
                    name: 'COMMANDER_URL',
                    value: 'https://commander.invalid/agent_api/00000000-0000-0000-0000-000000000000',
                  },
                  {
                    name: 'COMMANDER_AGENT_TOKEN_FILE',
                    value: '/etc/commander/enrollment/token',
                  },
                  {
                    name: 'COMMANDER_AGENT_STATE_DIR',
                    value: '/var/lib/commander-agent',
                  },
                  {
                    name: 'COMMANDER_AGENT_ALLOW',
                    value: 'bundle-allow.invalid:1',
                  },
                  {
                    name: 'COMMANDER_AGENT_IDENTITY_SECRET',
                    value: 'commander-agent/commander-agent-identity',
                  },
                  {
                    name: 'COMMANDER_PLATFORM_VERSION_SOURCE',
                    value: 'deployment/d8-system/deckhouse',
                  },
                  {
                    name: 'COMMANDER_COMPONENT_NAMESPACES',
                    value: 'd8-system,kube-system',
                  },
                  {
                    name: 'LOG_LEVEL',
                    value: 'info',
                  },
                ],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: {
                    drop: ['ALL'],
                  },
                },
                resources: {
                  limits: {
                    memory: '256Mi',
                  },
                  requests: {
                    cpu: '50m',
                    memory: '64Mi',
                  },
                },
                volumeMounts: [
                  {
                    name: 'enrollment',
                    mountPath: '/etc/commander/enrollment',
                    readOnly: true,
                  },
                  {
                    name: 'state',
                    mountPath: '/var/lib/commander-agent',
                  },
                  {
                    name: 'tmp',
                    mountPath: '/tmp',
                  },
                ],
              },
            ],
            volumes: [
              {
                name: 'enrollment',
                secret: {
                  secretName: 'commander-agent-enrollment',
                  defaultMode: 400,
                  optional: true,
                },
              },
              {
                name: 'state',
                emptyDir: {},
              },
              {
                name: 'tmp',
                emptyDir: {},
              },
            ],
          },
        },
      },
    },
  ],
};
