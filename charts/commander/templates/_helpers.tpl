{{- define "commander.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "commander.selectorLabels" -}}
app.kubernetes.io/name: {{ .context.Chart.Name }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "commander.labels" -}}
{{ include "commander.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: commander
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .context.Chart.Name .context.Chart.Version }}
{{- end -}}

{{- define "commander.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "commander.keysSecret" -}}
{{- .Values.encryption.existingSecret | default (printf "%s-encryption" (include "commander.fullname" .)) -}}
{{- end -}}

{{- define "commander.gatewayScheme" -}}
{{- if .Values.gateway.tlsSecret }}https{{ else }}http{{ end -}}
{{- end -}}

{{/* The gateway inside the cluster: its Service. */}}
{{- define "commander.gatewayServiceUrl" -}}
{{- printf "%s://%s-gateway.%s.svc:%v" (include "commander.gatewayScheme" .) (include "commander.fullname" .) .Release.Namespace .Values.gateway.service.port -}}
{{- end -}}

{{- define "commander.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.ingress.tlsSecret "")) (required "ingress.host is required with ingress.enabled" .Values.ingress.host) -}}
{{- else -}}
{{- include "commander.gatewayServiceUrl" . -}}
{{- end -}}
{{- end -}}

{{/* What every process reads: the database, the logs, the shutdown time, its replica name. */}}
{{- define "commander.commonEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required: a Secret holding the PostgreSQL URL" .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
- name: COMMANDER_DB_POOL_MAX
  value: {{ .Values.database.poolMax | quote }}
- name: COMMANDER_DATA_DIR
  value: /tmp/commander
- name: COMMANDER_PUBLIC_URL
  value: {{ include "commander.publicUrl" . | quote }}
- name: COMMANDER_SHUTDOWN_TIMEOUT
  value: {{ .Values.shutdownTimeoutSeconds | quote }}
- name: COMMANDER_REPLICA_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{- define "commander.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "commander.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Pod spec fields shared by the gateway, the managers and the migration Job. */}}
{{- define "commander.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- include "commander.podSecurityContext" . | nindent 2 }}
{{- end -}}
