// manifests/: every YAML document parses and validates against the
// Kubernetes API schemas, and the objects agree with each other.
import assert from "node:assert/strict";
import path from "node:path";
import test from "node:test";
import { ROOT, DRIVER, yamlFiles, loadDocs, validateObject, checkConsistency } from "./k8s_lib.mjs";

const files = yamlFiles(path.join(ROOT, "manifests"));

test("there are manifests", () => {
  assert.ok(files.length >= 8, `found ${files.length}`);
});

for (const file of files) {
  test(`${path.relative(ROOT, file)} parses and validates`, async () => {
    const docs = loadDocs(file);
    assert.ok(docs.length > 0, "no documents");
    for (const [i, doc] of docs.entries()) await validateObject(doc, `${path.relative(ROOT, file)}#${i}`);
  });
}

test("one object group per file, namespaced objects in the snapvol namespace", () => {
  for (const file of files.filter((f) => !f.includes("/examples/"))) {
    for (const doc of loadDocs(file)) {
      if (["Namespace", "ClusterRole", "ClusterRoleBinding", "CSIDriver", "StorageClass", "VolumeSnapshotClass"].includes(doc.kind)) continue;
      assert.equal(doc.metadata.namespace, "snapvol", `${path.basename(file)}: ${doc.kind} ${doc.metadata.name}`);
    }
  }
});

test("names, driver name and socket paths agree across files", () => {
  const objects = files.filter((f) => !f.includes("/examples/")).flatMap(loadDocs);
  checkConsistency(objects);
});

test("examples use the snapvol driver and classes", () => {
  const all = files.flatMap(loadDocs);
  const classes = new Set(all.filter((o) => o.kind === "StorageClass").map((o) => o.metadata.name));
  const snapClasses = new Set(all.filter((o) => o.kind === "VolumeSnapshotClass").map((o) => o.metadata.name));
  const examples = files.filter((f) => f.includes("/examples/")).flatMap(loadDocs);
  let inline = 0;
  for (const o of examples) {
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
  assert.equal(examples.filter((o) => o.kind === "Job").length, 2, "writer and reader Jobs");
});
