{{/* The name every object is derived from: the release's name. */}}
{{- define "docingest.fullname" -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "docingest.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "docingest.fullname" .) -}}
{{- end -}}

{{/* Labels that select the worker pods (the Deployment, PDB, Service, NetworkPolicy). */}}
{{- define "docingest.workerSelector" -}}
app.kubernetes.io/name: docingest
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "docingest.labels" -}}
app.kubernetes.io/name: docingest
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "docingest.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- if .Values.image.digest }}{{ $ref = printf "%s@%s" $ref .Values.image.digest }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/* The metrics port: the port of config.worker.metrics_addr (":9090", "0.0.0.0:9090"). */}}
{{- define "docingest.metricsPort" -}}
{{- $addr := required "config.worker.metrics_addr is required: the probes and the metrics Service use it" .Values.config.worker.metrics_addr -}}
{{- $parts := splitList ":" $addr -}}
{{- last $parts | int -}}
{{- end -}}

{{- define "docingest.queueUrl" -}}
{{- required "queueUrl is required (the terraform output queue_url)" .Values.queueUrl -}}
{{- end -}}

{{- define "docingest.output" -}}
{{- $o := required "output is required (s3://bucket/prefix, the terraform output output_uri)" .Values.output -}}
{{- if not (hasPrefix "s3://" $o) }}{{ fail (printf "output %q must be an s3:// URI: pods have no shared folder" $o) }}{{ end -}}
{{- $o -}}
{{- end -}}

{{- define "docingest.region" -}}
{{- required "region is required (the AWS region of the queue and buckets)" .Values.region -}}
{{- end -}}

{{/* The pod and container security settings every docingest container runs with. */}}
{{- define "docingest.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "docingest.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: ["ALL"]}
{{- end -}}
