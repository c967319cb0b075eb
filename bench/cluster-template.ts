// The bench's cluster template: what a Deckhouse Commander template version renders for a static
// cluster (ClusterConfiguration, StaticClusterConfiguration, SSHConfig and SSHHosts, ModuleConfigs,
// NodeGroups, StaticInstances), with 50 parameters and 30 hosts.

export const CLUSTER_TEMPLATE = `{{- /* A static cluster: Kubernetes, placement, SSH, modules and node groups. */ -}}
{{- $masters := list }}{{ $workers := list }}
{{- range .hosts }}{{ if eq .role "master" }}{{ $masters = append $masters . }}{{ else }}{{ $workers = append $workers . }}{{ end }}{{ end -}}
apiVersion: deckhouse.io/v1
kind: ClusterConfiguration
clusterType: Static
kubernetesVersion: {{ .kubernetesVersion | quote }}
podSubnetCIDR: {{ .podSubnetCIDR }}
podSubnetNodeCIDRPrefix: {{ .podSubnetNodeCIDRPrefix | default "24" | quote }}
serviceSubnetCIDR: {{ .serviceSubnetCIDR }}
clusterDomain: {{ .clusterDomain | default "cluster.local" | quote }}
defaultCRI: {{ .defaultCRI | default "Containerd" }}
{{- if .proxyEnabled }}
proxy:
  httpProxy: {{ .httpProxy | quote }}
  httpsProxy: {{ .httpsProxy | quote }}
  noProxy:
  {{- range .noProxy }}
  - {{ . | quote }}
  {{- end }}
{{- end }}
encryptionAlgorithm: {{ .encryptionAlgorithm | default "RSA-2048" }}
---
apiVersion: deckhouse.io/v1
kind: StaticClusterConfiguration
internalNetworkCIDRs:
{{- range .internalNetworkCIDRs }}
- {{ . }}
{{- end }}
---
apiVersion: dhctl.deckhouse.io/v1
kind: SSHConfig
sshUser: {{ .sshUser | quote }}
sshPort: {{ .sshPort | default 22 }}
sshAgentPrivateKeys:
- key: |
{{ .dc_sshPrivateKey | indent 4 }}
{{- if .sshBastionHost }}
sshBastionHost: {{ .sshBastionHost }}
sshBastionPort: {{ .sshBastionPort | default 22 }}
sshBastionUser: {{ .sshBastionUser | default .sshUser | quote }}
{{- end }}
sudoPassword: {{ .sudoPassword | b64enc | quote }}
{{- range $i, $h := $masters }}
---
apiVersion: dhctl.deckhouse.io/v1
kind: SSHHost
host: {{ $h.ip | quote }}
{{- end }}
---
apiVersion: deckhouse.io/v1alpha1
kind: ModuleConfig
metadata:
  name: deckhouse
  labels:
    heritage: deckhouse-commander
spec:
  version: 1
  enabled: true
  settings:
    bundle: {{ .bundle | default "Default" }}
    releaseChannel: {{ .releaseChannel | default "Stable" }}
    logLevel: {{ .logLevel | default "Info" }}
---
apiVersion: deckhouse.io/v1alpha1
kind: ModuleConfig
metadata:
  name: global
spec:
  version: 2
  settings:
    modules:
      publicDomainTemplate: {{ printf "%%s.%s" .publicDomain | quote }}
      https:
        mode: {{ .httpsMode | default "CertManager" }}
        {{- if eq .httpsMode "CertManager" }}
        certManager:
          clusterIssuerName: {{ .clusterIssuer | default "letsencrypt" }}
        {{- end }}
      placement:
        customTolerationKeys:
        {{- range .tolerationKeys }}
        - {{ . | quote }}
        {{- end }}
---
apiVersion: deckhouse.io/v1alpha1
kind: ModuleConfig
metadata:
  name: commander-agent
  labels:
    heritage: deckhouse-commander
spec:
  enabled: true
  version: 1
  settings:
    commanderUrl: "https://{{ .dc_domain }}/agent_api/{{ .dc_clusterUUID }}"
    caBundle: {{ .dc_caBundle | quote }}
---
apiVersion: deckhouse.io/v1alpha1
kind: ModuleConfig
metadata:
  name: cni-cilium
spec:
  version: 1
  enabled: {{ eq .cni "cilium" }}
  settings:
    tunnelMode: {{ .ciliumTunnelMode | default "Disabled" }}
    masqueradeMode: {{ .ciliumMasqueradeMode | default "BPF" }}
---
apiVersion: deckhouse.io/v1alpha1
kind: ModuleConfig
metadata:
  name: prometheus
spec:
  version: 2
  enabled: {{ .monitoringEnabled }}
  settings:
    retentionDays: {{ .retentionDays | default 15 }}
    storageClass: {{ .storageClass | quote }}
    longtermRetentionDays: {{ .longtermRetentionDays | default 0 }}
---
apiVersion: deckhouse.io/v1alpha1
kind: ModuleConfig
metadata:
  name: log-shipper
spec:
  version: 1
  enabled: {{ .loggingEnabled }}
---
apiVersion: deckhouse.io/v1alpha1
kind: ModuleConfig
metadata:
  name: ingress-nginx
spec:
  version: 1
  enabled: true
  settings:
    defaultControllerVersion: {{ .ingressControllerVersion | quote }}
---
apiVersion: deckhouse.io/v1
kind: IngressNginxController
metadata:
  name: {{ .ingressClass }}
spec:
  ingressClass: {{ .ingressClass | quote }}
  inlet: HostPort
  hostPort:
    httpPort: {{ .ingressHttpPort }}
    httpsPort: {{ .ingressHttpsPort }}
  maxReplicas: {{ .ingressReplicas }}
  nodeSelector:
    node-role.kubernetes.io/{{ .ingressNodeRole }}: ""
---
apiVersion: deckhouse.io/v1
kind: NodeGroup
metadata:
  name: master
spec:
  nodeType: Static
  staticInstances:
    count: {{ len $masters }}
  disruptions:
    approvalMode: {{ .masterDisruptionMode | default "Manual" }}
{{- range .nodeGroups }}
---
apiVersion: deckhouse.io/v1
kind: NodeGroup
metadata:
  name: {{ .name }}
spec:
  nodeType: {{ .nodeType | default "Static" }}
  {{- if .labels }}
  nodeTemplate:
    labels:
    {{- range $k, $v := .labels }}
      {{ $k }}: {{ $v | quote }}
    {{- end }}
    {{- if .taints }}
    taints:
    {{- range .taints }}
    - key: {{ .key }}
      effect: {{ .effect | default "NoSchedule" }}
    {{- end }}
    {{- end }}
  {{- end }}
  staticInstances:
    count: {{ .count }}
    labelSelector:
      matchLabels:
        role: {{ .name }}
{{- end }}
{{- range $i, $h := $workers }}
---
apiVersion: deckhouse.io/v1alpha1
kind: StaticInstance
metadata:
  name: {{ printf "%s-%02d" $.clusterName $i }}
  labels:
    role: {{ $h.group }}
    zone: {{ $h.zone | upper }}
spec:
  address: {{ $h.ip | quote }}
  credentialsRef:
    kind: SSHCredentials
    name: {{ $.clusterName }}-credentials
{{- end }}
---
apiVersion: deckhouse.io/v1alpha1
kind: SSHCredentials
metadata:
  name: {{ .clusterName }}-credentials
spec:
  user: {{ .sshUser }}
  sshPort: {{ .sshPort | default 22 }}
  privateSSHKey: {{ .dc_sshPrivateKey | b64enc | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-info
  namespace: kube-system
data:
  name: {{ .clusterName | quote }}
  owner: {{ .owner | quote }}
  environment: {{ .environment | upper | quote }}
  ntp: {{ join "," .ntpServers | quote }}
  dns: {{ join "," .dnsServers | quote }}
  hosts: {{ len .hosts | quote }}
  description: |{{ .description | nindent 4 }}
`;

/** 50 parameters (the dc_* ones included) and 30 hosts. */
export function clusterValues(): Record<string, unknown> {
  const zones = ['a', 'b', 'c'];
  const hosts = Array.from({ length: 30 }, (_, i) => ({
    name: `node-${i}`,
    ip: `10.20.${Math.floor(i / 10)}.${10 + i}`,
    role: i < 3 ? 'master' : 'worker',
    zone: `eu-${zones[i % 3]}`,
    group: i % 5 === 0 ? 'frontend' : 'worker',
  }));
  return {
    clusterName: 'prod-eu-1',
    kubernetesVersion: '1.29',
    podSubnetCIDR: '10.111.0.0/16',
    podSubnetNodeCIDRPrefix: '24',
    serviceSubnetCIDR: '10.222.0.0/16',
    clusterDomain: 'cluster.local',
    defaultCRI: 'Containerd',
    proxyEnabled: true,
    httpProxy: 'http://proxy.example.com:3128',
    httpsProxy: 'http://proxy.example.com:3128',
    noProxy: ['127.0.0.1', '10.0.0.0/8', '.svc', '.cluster.local', 'registry.example.com'],
    encryptionAlgorithm: 'RSA-2048',
    internalNetworkCIDRs: ['10.20.0.0/16', '192.168.0.0/24'],
    sshUser: 'ubuntu',
    sshPort: 22,
    sshBastionHost: 'bastion.example.com',
    sshBastionPort: 2222,
    sshBastionUser: 'jump',
    sudoPassword: 's3cr3t-sudo',
    bundle: 'Default',
    releaseChannel: 'EarlyAccess',
    logLevel: 'Info',
    publicDomain: 'prod-eu-1.example.com',
    httpsMode: 'CertManager',
    clusterIssuer: 'letsencrypt',
    tolerationKeys: ['dedicated', 'dedicated.example.com'],
    cni: 'cilium',
    ciliumTunnelMode: 'VXLAN',
    ciliumMasqueradeMode: 'BPF',
    monitoringEnabled: true,
    retentionDays: 30,
    storageClass: 'local-path',
    longtermRetentionDays: 365,
    loggingEnabled: false,
    ingressControllerVersion: '1.9',
    ingressClass: 'nginx',
    ingressHttpPort: 80,
    ingressHttpsPort: 443,
    ingressReplicas: 3,
    ingressNodeRole: 'frontend',
    masterDisruptionMode: 'Manual',
    nodeGroups: [
      { name: 'worker', count: 21, labels: { tier: 'app' } },
      {
        name: 'frontend',
        count: 6,
        labels: { tier: 'edge', 'node-role.kubernetes.io/frontend': '' },
        taints: [{ key: 'dedicated', effect: 'NoExecute' }],
      },
    ],
    owner: 'platform-team@example.com',
    environment: 'production',
    ntpServers: ['0.pool.ntp.org', '1.pool.ntp.org'],
    dnsServers: ['10.20.0.2', '10.20.0.3'],
    description: 'Production cluster in EU.\nManaged by Commander.\nDo not edit by hand.',
    hosts,
    dc_clusterUUID: '3f0b6b1e-2c4d-4a57-9d0e-7b3c1a2f9e10',
    dc_domain: 'commander.example.com',
    dc_caBundle: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENDQVRlZ0F3SUJBZ0lVZGV2Cg==',
    dc_sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc0bW1hbmRlciBiZW5jaCBrZXk commander',
    dc_sshPrivateKey:
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACB3NG1tYW5kZXIgYmVuY2gga2V5IGNvbW1hbmRlcgAAAJgAAAAAAAAAAA==\n-----END OPENSSH PRIVATE KEY-----',
  };
}
