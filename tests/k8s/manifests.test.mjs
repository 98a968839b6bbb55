// manifests/: `kubectl apply -k manifests/` (the base) and
// `kubectl apply -k manifests/overlays/snapshots/` build (tests/k8s/kustomize.mjs,
// and `kubectl kustomize` too where kubectl is installed), every object
// validates against the Kubernetes API schemas, the objects agree with each
// other, and every YAML file in manifests/ is used by a kustomization or is
// an example.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import test from "node:test";
import yaml from "js-yaml";
import { ROOT, DRIVER, yamlFiles, loadDocs, validateObject, checkConsistency } from "./k8s_lib.mjs";
import { kustomizeBuild, kustomizeFiles } from "./kustomize.mjs";

const MANIFESTS = path.join(ROOT, "manifests");
const OVERLAY = path.join(MANIFESTS, "overlays/snapshots");
const files = yamlFiles(MANIFESTS);
const examples = files.filter((f) => f.includes("/examples/"));
const base = kustomizeBuild(MANIFESTS);
const withSnapshots = kustomizeBuild(OVERLAY);

test("there are manifests", () => {
  assert.ok(base.length >= 10, `the base builds ${base.length} objects`);
  assert.ok(examples.length >= 5, `found ${examples.length} examples`);
});

for (const [name, objects] of [["manifests/", base], ["manifests/overlays/snapshots/", withSnapshots]]) {
  test(`kustomize ${name} validates against the API schemas`, async () => {
    for (const o of objects) await validateObject(o, `${name} ${o.kind}/${o.metadata.name}`);
  });

  test(`kustomize ${name}: names, driver name and socket paths agree`, () => {
    checkConsistency(objects);
  });

  test(`kustomize ${name}: namespaced objects are in the snapvol namespace`, () => {
    for (const doc of objects) {
      if (["Namespace", "ClusterRole", "ClusterRoleBinding", "CSIDriver", "StorageClass", "VolumeSnapshotClass"].includes(doc.kind)) continue;
      assert.equal(doc.metadata.namespace, "snapvol", `${doc.kind} ${doc.metadata.name}`);
    }
  });
}

for (const file of examples) {
  test(`${path.relative(ROOT, file)} parses and validates`, async () => {
    const docs = loadDocs(file);
    assert.ok(docs.length > 0, "no documents");
    for (const [i, doc] of docs.entries()) await validateObject(doc, `${path.relative(ROOT, file)}#${i}`);
  });
}

test("the base applies on a fresh cluster: no CRDs, namespace first, accounts before workloads", () => {
  assert.ok(!base.some((o) => !["v1", "apps/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1"].includes(o.apiVersion)),
            "the base uses built-in APIs only");
  assert.ok(!base.some((o) => o.kind === "VolumeSnapshotClass"));
  const order = base.map((o) => `${o.kind}/${o.metadata.name}`);
  assert.equal(order[0], "Namespace/snapvol", order.join(" "));
  for (const w of base.filter((o) => o.spec?.template)) {
    const sa = order.indexOf(`ServiceAccount/${w.spec.template.spec.serviceAccountName}`);
    assert.ok(sa >= 0 && sa < order.indexOf(`${w.kind}/${w.metadata.name}`), `${w.metadata.name} after its service account`);
  }
});

test("the snapshots overlay adds the VolumeSnapshotClass and csi-snapshotter, nothing else", () => {
  const key = (o) => `${o.kind}/${o.metadata.name}`;
  assert.deepEqual(withSnapshots.map(key).filter((k) => !base.map(key).includes(k)), ["VolumeSnapshotClass/snapvol"]);
  const names = (objs) => objs.find((o) => o.kind === "Deployment").spec.template.spec.containers.map((c) => c.name).sort();
  assert.deepEqual(names(withSnapshots), [...names(base), "csi-snapshotter"].sort());
  for (const o of base.filter((o) => o.kind !== "Deployment")) {
    assert.deepEqual(withSnapshots.find((x) => key(x) === key(o)), o, key(o));
  }
});

test("every file in manifests/ is used by a kustomization or is an example", () => {
  const used = new Set([...kustomizeFiles(MANIFESTS), ...kustomizeFiles(OVERLAY)]);
  for (const f of files) assert.ok(used.has(f) || f.includes("/examples/"), `${path.relative(ROOT, f)} is not used`);
});

test("kustomize refuses what this builder does not implement, and cycles", async () => {
  const fs = await import("node:fs");
  const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "kz-"));
  fs.mkdirSync(path.join(dir, "sub"));
  fs.writeFileSync(path.join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
  fs.writeFileSync(path.join(dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n");
  fs.writeFileSync(path.join(dir, "sub/kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [..]\n");
  assert.throws(() => kustomizeBuild(path.join(dir, "sub")), /cycle detected/);
  fs.writeFileSync(path.join(dir, "sub/kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../cm.yaml]\n");
  assert.throws(() => kustomizeBuild(path.join(dir, "sub")), /security/);
  fs.writeFileSync(path.join(dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: a-\nresources: [cm.yaml]\n");
  assert.throws(() => kustomizeBuild(dir), /not supported/);
  fs.rmSync(dir, { recursive: true });
});

// Objects compared without regard to the order of containers (kustomize
// puts a patch's new containers first).
function normalized(objs) {
  return objs
    .map((o) => {
      const c = structuredClone(o);
      const spec = c.spec?.template?.spec;
      if (spec) spec.containers.sort((a, b) => a.name.localeCompare(b.name));
      return c;
    })
    .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

function kubectl() {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("kubectl kustomize builds the same objects", { skip: !kubectl() && "kubectl is not installed" }, () => {
  for (const [dir, objs] of [[MANIFESTS, base], [OVERLAY, withSnapshots]]) {
    const out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
    assert.deepEqual(normalized(yaml.loadAll(out).filter((d) => d)), normalized(objs), dir);
  }
});

test("examples use the snapvol driver and classes", () => {
  const all = [...withSnapshots, ...examples.flatMap(loadDocs)];
  const classes = new Set(all.filter((o) => o.kind === "StorageClass").map((o) => o.metadata.name));
  const snapClasses = new Set(all.filter((o) => o.kind === "VolumeSnapshotClass").map((o) => o.metadata.name));
  const ex = examples.flatMap(loadDocs);
  let inline = 0;
  for (const o of ex) {
    if (o.kind === "PersistentVolumeClaim" && o.spec.storageClassName) {
      assert.ok(classes.has(o.spec.storageClassName), `PVC ${o.metadata.name} uses unknown class`);
    }
    if (o.kind === "VolumeSnapshot") assert.ok(snapClasses.has(o.spec.volumeSnapshotClassName));
    if (o.kind === "PersistentVolume") assert.equal(o.spec.csi.driver, DRIVER);
    const spec = o.kind === "Pod" ? o.spec : o.kind === "Job" ? o.spec.template.spec : null;
    for (const v of spec?.volumes || []) {
      if (v.csi) {
        inline++;
        assert.equal(v.csi.driver, DRIVER);
        assert.ok(v.csi.volumeAttributes?.name, "inline volumes name their snapvol volume");
      }
    }
  }
  assert.ok(inline >= 3, "ephemeral inline example and the writer/reader Jobs");
  assert.equal(ex.filter((o) => o.kind === "Job").length, 2, "writer and reader Jobs");
});
