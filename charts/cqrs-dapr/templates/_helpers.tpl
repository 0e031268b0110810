{{/*
Names. Every resource is named after its Dapr app-id (command-service, query-service, gateway) or its Dapr name
(pubsub, viewstore, actorstore): the services and components/ use these names everywhere, and app-ids are unique per
namespace anyway, so one release per namespace.
*/}}

{{/*
Labels on every resource. Deployments, pods and Services add cqrs-dapr.selectorLabels beside them, so the two share
no key (a repeated key is a YAML error).
*/}}
{{- define "cqrs-dapr.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: cqrs-dapr
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one app; call with (dict "root" $ "app" "command-service"). */}}
{{- define "cqrs-dapr.selectorLabels" -}}
app.kubernetes.io/name: {{ .app }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* The image reference of one service's values (repository and tag, the tag never empty). */}}
{{- define "cqrs-dapr.image" -}}
{{- printf "%s:%s" .repository (required "image.tag is required: pin a released version" .tag) -}}
{{- end -}}

{{/*
The tokens each app needs beside its sidecar: DAPR_API_TOKEN (the app's Dapr client presents it to the sidecar) and
APP_API_TOKEN (the app checks it on the routes only the sidecar calls). The same Secrets the dapr.io/api-token-secret
and dapr.io/app-token-secret annotations give the sidecar (key "token").
*/}}
{{- define "cqrs-dapr.tokenEnv" -}}
{{- with .Values.secrets.daprApiToken.name }}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: token
{{- end }}
{{- with .Values.secrets.appApiToken.name }}
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: token
{{- end }}
{{- end -}}

{{/* OpenTelemetry export of one app to the collector the sidecars trace to, sampled at the sidecars' rate (parent-based:
     a request the gateway samples is traced everywhere), and the app's log level; call with (dict "root" $ "app" "..."). */}}
{{- define "cqrs-dapr.otelEnv" -}}
- name: Logging__LogLevel__Default
  value: {{ .root.Values.logLevel | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ .app }}
{{- if .root.Values.dapr.tracing.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ printf "%s://%s" (ternary "https" "http" .root.Values.dapr.tracing.isSecure) .root.Values.dapr.tracing.otlpEndpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ ternary "grpc" "http/protobuf" (eq .root.Values.dapr.tracing.protocol "grpc") | quote }}
- name: OTEL_TRACES_SAMPLER
  value: "parentbased_traceidratio"
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .root.Values.dapr.tracing.samplingRate | quote }}
- name: Telemetry__MaxTracesPerSecond
  value: {{ .root.Values.dapr.tracing.maxTracesPerSecond | quote }}
{{- end }}
{{- end -}}
