{{- define "snapvol.labels" -}}
app.kubernetes.io/part-of: snapvol
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: snapvol-{{ .Chart.Version }}
{{- end }}

{{- define "snapvol.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}
