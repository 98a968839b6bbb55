// charts/snapvol: templates render (with tests/k8s/helm_render.mjs; helm is
// not available here), every rendered object validates against the
// Kubernetes API schemas, and the chart renders the same objects as the
// kustomizations of manifests/ (one source of truth), except for Helm's
// labels and the CSIDriver's keep policy: defaults on a cluster without the
// snapshot CRDs = `kubectl kustomize manifests/`; on a cluster with them =
// `kubectl kustomize manifests/overlays/snapshots/`.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import test from "node:test";
import yaml from "js-yaml";
import { renderChart, renderedObjects } from "./helm_render.mjs";
import { kustomizeBuild } from "./kustomize.mjs";
import { ROOT, validateObject, checkConsistency } from "./k8s_lib.mjs";

const CHART = path.join(ROOT, "charts/snapvol");
const SNAPSHOT_API = ["snapshot.storage.k8s.io/v1"];
const chartYaml = yaml.load(fs.readFileSync(path.join(CHART, "Chart.yaml"), "utf8"));

const render = (opts = {}) => renderedObjects(renderChart(CHART, { namespace: "snapvol", ...opts })).map((r) => r.doc);
const find = (objs, kind) => objs.find((o) => o.kind === kind);
const podSpec = (objs, kind) => find(objs, kind).spec.template.spec;
const container = (objs, kind, name) => podSpec(objs, kind).containers.find((c) => c.name === name);

async function validateAll(objs, where) {
  for (const o of objs) await validateObject(o, `${where}: ${o.kind}/${o.metadata.name}`);
}

test("Chart.yaml and values.yaml parse", () => {
  assert.equal(chartYaml.apiVersion, "v2");
  assert.equal(chartYaml.name, "snapvol");
  yaml.load(fs.readFileSync(path.join(CHART, "values.yaml"), "utf8"));
});

function stripHelm(obj) {
  const o = structuredClone(obj);
  if (o.metadata?.labels) {
    delete o.metadata.labels["app.kubernetes.io/managed-by"];
    delete o.metadata.labels["helm.sh/chart"];
  }
  if (o.metadata?.annotations) {
    delete o.metadata.annotations["helm.sh/resource-policy"];
    if (!Object.keys(o.metadata.annotations).length) delete o.metadata.annotations;
  }
  const spec = o.spec?.template?.spec;
  if (spec) spec.containers.sort((a, b) => a.name.localeCompare(b.name));
  return o;
}

function assertSameObjects(rendered, built) {
  const key = (o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const want = built.filter((o) => o.kind !== "Namespace").map(stripHelm);  // the release namespace is Helm's
  const got = new Map(rendered.map((o) => [key(o), stripHelm(o)]));
  assert.deepEqual([...got.keys()].sort(), want.map(key).sort());
  for (const m of want) assert.deepEqual(got.get(key(m)), m, key(m));
}

test("defaults on a cluster without the snapshot CRDs render `kustomize manifests/`", async () => {
  const objs = render();
  await validateAll(objs, "defaults");
  checkConsistency(objs);
  assertSameObjects(objs, kustomizeBuild(path.join(ROOT, "manifests")));
  assert.ok(!objs.some((o) => o.kind === "VolumeSnapshotClass"), "no VolumeSnapshotClass without the CRDs");
  // fsGroup is delegated to the driver by default (VOLUME_MOUNT_GROUP), and
  // with fsGroupPolicy None kubelet never walks the volume.
  const drv = container(objs, "DaemonSet", "snapvol-driver");
  assert.ok(!drv.args.some((a) => a.includes("fs-group-delegation")), drv.args.join(" "));
  // Passthrough on, the file cache's default budget: no extra environment.
  assert.deepEqual(drv.env.map((e) => e.name), ["NODE_ID"]);
  // The image's tag is the chart's appVersion.
  assert.equal(drv.image, `snapvol/snapvol:${chartYaml.appVersion}`);
});

test("defaults on a cluster with the snapshot CRDs render `kustomize manifests/overlays/snapshots/`", async () => {
  const objs = render({ apiVersions: SNAPSHOT_API });
  await validateAll(objs, "with snapshot CRDs");
  checkConsistency(objs);
  assertSameObjects(objs, kustomizeBuild(path.join(ROOT, "manifests/overlays/snapshots")));
});

test("volumeSnapshotClass.create: true and false override the cluster's API, anything else fails", () => {
  const on = render({ values: { volumeSnapshotClass: { create: true } } });
  assert.ok(find(on, "VolumeSnapshotClass"));
  assert.ok(container(on, "Deployment", "csi-snapshotter"));
  checkConsistency(on);
  const off = render({ apiVersions: SNAPSHOT_API, values: { volumeSnapshotClass: { create: false } } });
  assert.ok(!find(off, "VolumeSnapshotClass"));
  assert.ok(!container(off, "Deployment", "csi-snapshotter"));
  checkConsistency(off);
  assert.throws(() => render({ values: { volumeSnapshotClass: { create: "yes" } } }), /must be true, false or auto/);
});

test("the CSIDriver is kept on uninstall", () => {
  assert.equal(find(render(), "CSIDriver").metadata.annotations["helm.sh/resource-policy"], "keep");
});

test("image: registry, repository and tag; the tag defaults to the appVersion; a repository is required", () => {
  const image = (values) => container(render({ values }), "Deployment", "snapvol-driver").image;
  assert.equal(image({ image: { registry: "ghcr.io", repository: "acme/snapvol", tag: "1.2.3" } }), "ghcr.io/acme/snapvol:1.2.3");
  assert.equal(image({ image: { registry: "registry.local:5000" } }), `registry.local:5000/snapvol/snapvol:${chartYaml.appVersion}`);
  assert.equal(image({ image: { tag: "dev" } }), "snapvol/snapvol:dev");
  assert.throws(() => render({ values: { image: { repository: "" } } }), /image.repository is required/);
});

test("scheduling, pull secrets, resources and update strategies reach both workloads", async () => {
  const values = {
    imagePullSecrets: [{ name: "regcred" }],
    store: { node: "worker-1" },
    controller: {
      nodeSelector: { "disk": "ssd" },
      tolerations: [{ key: "storage", operator: "Exists", effect: "NoSchedule" }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }] }] } } },
      resources: { limits: { memory: "256Mi" } },
    },
    node: {
      nodeSelector: { "snapvol.io/node": "true" },
      tolerations: [{ key: "gpu", operator: "Exists" }],
      updateStrategy: { type: "OnDelete" },
    },
    sidecars: { registrar: { resources: { requests: { cpu: "1m" } } } },
  };
  const objs = render({ values });
  await validateAll(objs, "scheduling values");
  checkConsistency(objs);
  const ctrl = podSpec(objs, "Deployment");
  const node = podSpec(objs, "DaemonSet");
  for (const spec of [ctrl, node]) assert.deepEqual(spec.imagePullSecrets, [{ name: "regcred" }]);
  assert.deepEqual(ctrl.nodeSelector, { "kubernetes.io/hostname": "worker-1", disk: "ssd" });
  assert.deepEqual(node.nodeSelector, { "kubernetes.io/hostname": "worker-1", "snapvol.io/node": "true" });
  assert.deepEqual(ctrl.tolerations, values.controller.tolerations);
  assert.deepEqual(node.tolerations, values.node.tolerations);
  assert.deepEqual(ctrl.affinity, values.controller.affinity);
  assert.equal(node.affinity, undefined);
  assert.deepEqual(container(objs, "Deployment", "snapvol-driver").resources, { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "256Mi" } });
  assert.deepEqual(container(objs, "DaemonSet", "node-driver-registrar").resources, { requests: { cpu: "1m", memory: "16Mi" } });
  assert.deepEqual(find(objs, "DaemonSet").spec.updateStrategy, { type: "OnDelete" });
  assert.deepEqual(find(objs, "Deployment").spec.strategy, { type: "Recreate" });
});

test("store.node pins controller and node plugin to the store's node", () => {
  const objs = renderedObjects(renderChart(CHART, { namespace: "storage", values: { store: { node: "worker-1" } } })).map((r) => r.doc);
  for (const name of ["snapvol-controller", "snapvol-node"]) {
    const w = objs.find((o) => o.metadata.name === name && o.spec?.template);
    assert.deepEqual(w.spec.template.spec.nodeSelector, { "kubernetes.io/hostname": "worker-1" }, name);
    assert.equal(w.metadata.namespace, "storage");
  }
  checkConsistency(objs);
});

test("values change what they should", async () => {
  const objs = renderedObjects(
    renderChart(CHART, {
      namespace: "x",
      values: {
        kubeletDir: "/var/snap/microk8s/common/var/lib/kubelet",
        image: { repository: "example.com/snapvol", tag: "9.9.9" },
        logLevel: "debug",
        commitInterval: "30s",
        fsGroupDelegation: false,
        volumeSnapshotClass: { create: false },
        storageClass: { create: false },
        node: { resources: { limits: { memory: "1Gi" } }, passthrough: false, fileCacheBytes: "10737418240" },
      },
    }),
  ).map((r) => r.doc);
  await validateAll(objs, "custom values");
  checkConsistency(objs, { kubeletDir: "/var/snap/microk8s/common/var/lib/kubelet" });
  assert.equal(objs.filter((o) => o.kind === "VolumeSnapshotClass").length, 0);
  assert.deepEqual(objs.filter((o) => o.kind === "StorageClass").map((o) => o.metadata.name), ["snapvol-namespaced"]);
  const drv = container(objs, "DaemonSet", "snapvol-driver");
  assert.equal(drv.image, "example.com/snapvol:9.9.9");
  assert.ok(drv.args.includes("--log-level=debug"));
  assert.ok(drv.args.includes("--commit-interval=30s"));
  assert.ok(drv.args.includes("--no-fs-group-delegation"));
  assert.deepEqual(drv.resources, { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "1Gi" } });
  // The mount servers the node plugin starts inherit its environment.
  const env = Object.fromEntries(drv.env.filter((e) => "value" in e).map((e) => [e.name, e.value]));
  assert.deepEqual(env, { SNAPVOL_FILE_CACHE_BYTES: "10737418240", SNAPVOL_PASSTHROUGH: "0" });
  assert.ok(!container(objs, "Deployment", "csi-snapshotter"));
});

test("tenancy values become the node plugin's tenancy file", () => {
  const tenancy = { inlineVolumes: { "ml-team": { environments: ["models"] }, "*": { environments: ["public"], createIfMissing: false } } };
  const objs = render({ values: { tenancy } });
  checkConsistency(objs);
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "snapvol-tenancy");
  assert.ok(cm, "no ConfigMap snapvol-tenancy");
  assert.deepEqual(yaml.load(cm.data["tenancy.yaml"]), tenancy);
  const ds = find(objs, "DaemonSet");
  const drv = container(objs, "DaemonSet", "snapvol-driver");
  assert.ok(drv.args.includes("--tenancy-config=/etc/snapvol/tenancy.yaml"), drv.args.join(" "));
  assert.equal(drv.volumeMounts.find((m) => m.name === "tenancy").mountPath, "/etc/snapvol");
  assert.equal(ds.spec.template.spec.volumes.find((v) => v.name === "tenancy").configMap.name, "snapvol-tenancy");
  // Without tenancy values: no ConfigMap, no flag (the manifests' objects).
  assert.ok(!render().some((o) => o.kind === "ConfigMap"));
});

test("the chart refuses clusters older than its kubeVersion", () => {
  assert.throws(() => render({ kubeVersion: "v1.33.4" }), /incompatible with Kubernetes v1.33.4/);
  render({ kubeVersion: "v1.34.0" });
});

test("NOTES.txt renders and names the image and whether snapshots are on", () => {
  const off = renderChart(CHART, { namespace: "snapvol" })["NOTES.txt"];
  assert.match(off, /image snapvol\/snapvol:/);
  assert.match(off, /Snapshots: off/);
  assert.match(renderChart(CHART, { namespace: "snapvol", apiVersions: SNAPSHOT_API })["NOTES.txt"], /Snapshots: on/);
});

// The renderer itself: the idioms it implements behave as in Helm, and
// what it does not implement is refused.
function renderOne(template, values = {}, opts = {}) {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "chart-"));
  try {
    fs.mkdirSync(path.join(dir, "templates"));
    fs.writeFileSync(path.join(dir, "Chart.yaml"), "apiVersion: v2\nname: t\nversion: 0.0.1\nappVersion: \"7.0\"\n");
    fs.writeFileSync(path.join(dir, "values.yaml"), yaml.dump(values));
    fs.writeFileSync(path.join(dir, "templates/_h.tpl"), '{{- define "t.hello" -}}hello {{ . }}{{- end }}\n');
    fs.writeFileSync(path.join(dir, "templates/x.yaml"), template);
    return renderChart(dir, opts)["x.yaml"];
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

test("the renderer implements with, range, if/else if, variables, include, required, default, printf", () => {
  const v = { list: ["a", "b"], map: { z: 1, y: 2 }, empty: [], name: "n", flag: false, nested: { k: "v" } };
  assert.equal(renderOne("{{ range .Values.list }}[{{ . }}]{{ end }}", v), "[a][b]");
  assert.equal(renderOne("{{ range $k, $v := .Values.map }}{{ $k }}={{ $v }};{{ end }}", v), "y=2;z=1;");
  assert.equal(renderOne("{{ range $i, $x := .Values.list }}{{ $i }}{{ $x }}{{ end }}", v), "0a1b");
  assert.equal(renderOne("{{ range .Values.empty }}x{{ else }}none{{ end }}", v), "none");
  assert.equal(renderOne("{{ with .Values.nested }}{{ .k }}/{{ $.Values.name }}{{ end }}", v), "v/n");
  assert.equal(renderOne("{{ with .Values.missing }}x{{ else }}no{{ end }}", v), "no");
  assert.equal(renderOne("{{ if .Values.flag }}a{{ else if eq .Values.name \"n\" }}b{{ else }}c{{ end }}", v), "b");
  assert.equal(renderOne("{{ $x := .Values.name }}{{ $x = printf \"%s-%d\" $x 3 }}{{ $x }}", v), "n-3");
  assert.equal(renderOne("{{ include \"t.hello\" .Values.name | upper }}", v), "HELLO N");
  assert.equal(renderOne("{{ .Values.missing | default .Chart.AppVersion }}", v), "7.0");
  assert.equal(renderOne("{{ and .Values.name .Values.flag }}|{{ or .Values.flag .Values.name }}|{{ not .Values.flag }}", v), "false|n|true");
  assert.equal(renderOne("{{ if .Capabilities.APIVersions.Has \"x/v1\" }}yes{{ else }}no{{ end }}", v, { apiVersions: ["x/v1"] }), "yes");
  assert.equal(renderOne("{{ if .Capabilities.APIVersions.Has \"x/v1\" }}yes{{ else }}no{{ end }}", v), "no");
  assert.equal(renderOne("a:\n  {{- toYaml .Values.nested | nindent 2 }}", v), "a:\n  k: v");
  assert.equal(renderOne("{{- /* a comment */ -}}\n  x", v), "x");
  assert.equal(renderOne("{{ (dict \"a\" 1).a }}|{{ and (eq .Values.name \"n\") .Values.name }}", v), "1|n");
  assert.throws(() => renderOne("{{ required \"name it\" .Values.missing }}", v), /name it/);
  assert.throws(() => renderOne("{{ eq .Values.flag \"false\" }}", v), /incompatible types/);
  assert.throws(() => renderOne("{{ .Values.nested }}", v), /toYaml/);
});

test("the renderer refuses template features it does not implement", () => {
  for (const t of ["{{ template \"t.hello\" . }}", "{{ tpl .Values.a . }}", "{{ lookup \"v1\" \"Pod\" \"\" \"\" }}", "{{ sha256sum .Values.a }}", "{{ if .Values.a }}x"]) {
    assert.throws(() => renderOne(t, { a: "x" }), /unsupported|unterminated/, t);
  }
});
