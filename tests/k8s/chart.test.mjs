// charts/snapvol: templates render (with tests/k8s/helm_render.mjs, helm is
// not available here), validate against the Kubernetes API schemas, and with
// default values produce the same objects as manifests/ (one source of
// truth), except for Helm's labels.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import test from "node:test";
import yaml from "js-yaml";
import { renderChart, renderedObjects } from "./helm_render.mjs";
import { ROOT, yamlFiles, loadDocs, validateObject, checkConsistency } from "./k8s_lib.mjs";

const CHART = path.join(ROOT, "charts/snapvol");

test("Chart.yaml and values.yaml parse", () => {
  const chart = yaml.load(fs.readFileSync(path.join(CHART, "Chart.yaml"), "utf8"));
  assert.equal(chart.apiVersion, "v2");
  assert.equal(chart.name, "snapvol");
  yaml.load(fs.readFileSync(path.join(CHART, "values.yaml"), "utf8"));
});

function stripHelm(obj) {
  const o = structuredClone(obj);
  if (o.metadata?.labels) {
    delete o.metadata.labels["app.kubernetes.io/managed-by"];
    delete o.metadata.labels["helm.sh/chart"];
  }
  return o;
}

test("default values render the objects of manifests/", async () => {
  const rendered = renderedObjects(renderChart(CHART, { namespace: "snapvol" }));
  for (const { file, doc } of rendered) await validateObject(doc, `chart ${file}`);
  checkConsistency(rendered.map((r) => r.doc));
  const manifests = yamlFiles(path.join(ROOT, "manifests"))
    .filter((f) => !f.includes("/examples/"))
    .flatMap(loadDocs)
    .filter((o) => o.kind !== "Namespace");  // the release namespace is Helm's
  const key = (o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const got = new Map(rendered.map((r) => [key(r.doc), stripHelm(r.doc)]));
  assert.deepEqual([...got.keys()].sort(), manifests.map(key).sort());
  for (const m of manifests) assert.deepEqual(got.get(key(m)), m, key(m));
  // fsGroup is delegated to the driver by default (VOLUME_MOUNT_GROUP), and
  // with fsGroupPolicy None kubelet never walks the volume.
  const drv = rendered.map((r) => r.doc).find((o) => o.kind === "DaemonSet").spec.template.spec.containers[0];
  assert.ok(!drv.args.some((a) => a.includes("fs-group-delegation")), drv.args.join(" "));
  // Passthrough on, the file cache's default budget: no extra environment.
  assert.deepEqual(drv.env.map((e) => e.name), ["NODE_ID"]);
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
  for (const o of objs) await validateObject(o, "custom values");
  checkConsistency(objs, { kubeletDir: "/var/snap/microk8s/common/var/lib/kubelet" });
  assert.equal(objs.filter((o) => o.kind === "VolumeSnapshotClass").length, 0);
  assert.deepEqual(objs.filter((o) => o.kind === "StorageClass").map((o) => o.metadata.name), ["snapvol-namespaced"]);
  const node = objs.find((o) => o.kind === "DaemonSet");
  const drv = node.spec.template.spec.containers[0];
  assert.equal(drv.image, "example.com/snapvol:9.9.9");
  assert.ok(drv.args.includes("--log-level=debug"));
  assert.ok(drv.args.includes("--commit-interval=30s"));
  assert.ok(drv.args.includes("--no-fs-group-delegation"));
  assert.deepEqual(drv.resources, { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "1Gi" } });
  // The mount servers the node plugin starts inherit its environment.
  const env = Object.fromEntries(drv.env.filter((e) => "value" in e).map((e) => [e.name, e.value]));
  assert.deepEqual(env, { SNAPVOL_FILE_CACHE_BYTES: "10737418240", SNAPVOL_PASSTHROUGH: "0" });
  const ctrl = objs.find((o) => o.kind === "Deployment");
  assert.ok(!ctrl.spec.template.spec.containers.some((c) => c.name === "csi-snapshotter"));
});

test("the renderer refuses template features it does not implement", () => {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "chart-"));
  fs.mkdirSync(path.join(dir, "templates"));
  fs.writeFileSync(path.join(dir, "Chart.yaml"), "apiVersion: v2\nname: t\nversion: 0.0.1\n");
  fs.writeFileSync(path.join(dir, "values.yaml"), "a: [1]\n");
  fs.writeFileSync(path.join(dir, "templates/x.yaml"), "{{ range .Values.a }}x{{ end }}\n");
  assert.throws(() => renderChart(dir), /unsupported/);
  fs.rmSync(dir, { recursive: true });
});

test("tenancy values become the node plugin's tenancy file", () => {
  const tenancy = { inlineVolumes: { "ml-team": { environments: ["models"] }, "*": { environments: ["public"], createIfMissing: false } } };
  const objs = renderedObjects(renderChart(CHART, { namespace: "snapvol", values: { tenancy } })).map((r) => r.doc);
  checkConsistency(objs);
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "snapvol-tenancy");
  assert.ok(cm, "no ConfigMap snapvol-tenancy");
  assert.deepEqual(yaml.load(cm.data["tenancy.yaml"]), tenancy);
  const ds = objs.find((o) => o.kind === "DaemonSet");
  const drv = ds.spec.template.spec.containers[0];
  assert.ok(drv.args.includes("--tenancy-config=/etc/snapvol/tenancy.yaml"), drv.args.join(" "));
  const mount = drv.volumeMounts.find((m) => m.name === "tenancy");
  assert.equal(mount.mountPath, "/etc/snapvol");
  const vol = ds.spec.template.spec.volumes.find((v) => v.name === "tenancy");
  assert.equal(vol.configMap.name, "snapvol-tenancy");
  // Without tenancy values: no ConfigMap, no flag (the manifests' objects).
  const plain = renderedObjects(renderChart(CHART, { namespace: "snapvol" })).map((r) => r.doc);
  assert.ok(!plain.some((o) => o.kind === "ConfigMap"));
});
