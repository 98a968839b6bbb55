{{- define "snapvol.labels" -}}
app.kubernetes.io/part-of: snapvol
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: snapvol-{{ .Chart.Version }}
{{- end }}

{{/* REGISTRY/REPOSITORY:TAG; the tag defaults to the chart's appVersion. */}}
{{- define "snapvol.image" -}}
{{- with .Values.image.registry }}{{ . }}/{{ end -}}
{{ required "image.repository is required" .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
"true" when snapshots are on: volumeSnapshotClass.create true, or auto and
the cluster serves the snapshot API (the CRDs of external-snapshotter).
*/}}
{{- define "snapvol.snapshots" -}}
{{- $create := toString .Values.volumeSnapshotClass.create -}}
{{- if eq $create "true" -}}
true
{{- else if and (eq $create "auto") (.Capabilities.APIVersions.Has "snapshot.storage.k8s.io/v1") -}}
true
{{- else if not (eq $create "auto" "false") -}}
{{- fail (printf "volumeSnapshotClass.create must be true, false or auto, not %q" $create) -}}
{{- end -}}
{{- end }}

{{/* The sidecars' securityContext: they only use sockets owned by root. */}}
{{- define "snapvol.sidecarSecurityContext" -}}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
{{- end }}
