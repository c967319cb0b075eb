{{/* The agent's objects are named after the release ("commander-agent" in the bootstrap bundle). */}}
{{- define "commander-agent.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "commander-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "commander-agent.labels" -}}
{{ include "commander-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: commander
{{- end -}}

{{- define "commander-agent.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "commander-agent.enrollmentSecret" -}}
{{- .Values.enrollment.existingSecret | default (printf "%s-enrollment" (include "commander-agent.fullname" .)) -}}
{{- end -}}
