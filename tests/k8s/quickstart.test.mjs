// docs/kubernetes.md "Quickstart (kind)": every command refers to files and
// objects that exist, in an order that works — the image it builds is the
// one the manifests and the chart run, the driver is installed before the
// examples and removed after them, the names it waits for, reads logs of
// and execs into are the examples' — and the example files validate
// (manifests.test.mjs validates every example).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import test from "node:test";
import yaml from "js-yaml";
import { ROOT, loadDocs } from "./k8s_lib.mjs";
import { kustomizeBuild } from "./kustomize.mjs";

const doc = fs.readFileSync(path.join(ROOT, "docs/kubernetes.md"), "utf8");
const section = doc.slice(doc.indexOf("### Quickstart (kind)"));
const block = /```sh\n([\s\S]*?)```/.exec(section)[1];
// Commands, including the Helm alternatives written as comments "#   cmd".
const lines = block.split("\n").map((l) => l.replace(/^#\s{2,}/, "").trim()).filter((l) => l && !l.startsWith("#"));
const commands = lines.map((l) => l.replace(/\s+#.*$/, ""));
const indexOf = (re) => commands.findIndex((c) => re.test(c));

const base = kustomizeBuild(path.join(ROOT, "manifests"));
const chart = yaml.load(fs.readFileSync(path.join(ROOT, "charts/snapvol/Chart.yaml"), "utf8"));

test("the quickstart has its steps", () => {
  for (const re of [/^kind create cluster/, /^docker build/, /^kind load docker-image/, /^kubectl apply -k manifests\/$/, /^helm install/,
    /^kubectl apply -f manifests\/examples\/pvc-pod\.yaml$/, /^kubectl exec/, /^kubectl apply -f manifests\/examples\/pvc-reader\.yaml$/,
    /^kubectl delete -k manifests\/$/, /^helm uninstall/, /^kind delete cluster/]) {
    assert.ok(indexOf(re) >= 0, `missing ${re}`);
  }
});

test("every file it names exists", () => {
  for (const c of commands) {
    for (const m of c.matchAll(/(?:^|\s)((?:manifests|charts)\/[^\s]*)/g)) {
      assert.ok(fs.existsSync(path.join(ROOT, m[1])), `${c}: ${m[1]}`);
    }
  }
});

test("it builds and loads the image the manifests and the chart run", () => {
  const tag = /docker build -t (\S+) \./.exec(commands.join("\n"))[1];
  assert.ok(commands.some((c) => c.startsWith(`kind load docker-image ${tag}`)));
  for (const w of base.filter((o) => o.spec?.template)) {
    assert.equal(w.spec.template.spec.containers.find((c) => c.name === "snapvol-driver").image, tag, w.metadata.name);
  }
  assert.equal(tag, `snapvol/snapvol:${chart.appVersion}`, "the chart's default image");
});

test("it waits for the objects the install creates, in the namespace it creates", () => {
  const ns = base.find((o) => o.kind === "Namespace").metadata.name;
  // Helm: the namespace is created and labelled like the manifests' before the install.
  const labels = base.find((o) => o.kind === "Namespace").metadata.labels;
  const create = indexOf(new RegExp(`^kubectl create namespace ${ns}$`));
  const label = indexOf(new RegExp(`^kubectl label namespace ${ns} pod-security.kubernetes.io/enforce=${labels["pod-security.kubernetes.io/enforce"]}$`));
  const install = indexOf(new RegExp(`^helm install snapvol charts/snapvol -n ${ns}$`));
  assert.ok(create >= 0 && create < label && label < install, "create, label, then helm install");
  for (const m of commands.join("\n").matchAll(/kubectl -n (\S+) rollout status (deployment|daemonset)\/(\S+)/g)) {
    assert.equal(m[1], ns);
    const kind = m[2] === "deployment" ? "Deployment" : "DaemonSet";
    assert.ok(base.some((o) => o.kind === kind && o.metadata.name === m[3] && o.metadata.namespace === ns), m[0]);
  }
  const csidriver = base.find((o) => o.kind === "CSIDriver").metadata.name;
  assert.ok(commands.includes(`kubectl delete csidriver ${csidriver}`));
});

test("the pods it waits for, reads and execs into are the examples', on one claim", () => {
  const examples = ["pvc-pod.yaml", "pvc-reader.yaml"].flatMap((f) => loadDocs(path.join(ROOT, "manifests/examples", f)));
  const pods = new Map(examples.filter((o) => o.kind === "Pod").map((o) => [o.metadata.name, o]));
  for (const c of commands) {
    const m = /^kubectl (?:wait .*pod\/|logs |exec )(\S+)/.exec(c);
    if (m) assert.ok(pods.has(m[1]), `${c}: no example pod ${m[1]}`);
  }
  const claim = examples.find((o) => o.kind === "PersistentVolumeClaim").metadata.name;
  for (const p of pods.values()) {
    assert.equal(p.spec.volumes.find((v) => v.persistentVolumeClaim).persistentVolumeClaim.claimName, claim, p.metadata.name);
  }
  // The writer is started (and commits) before the reader starts.
  assert.ok(indexOf(/examples\/pvc-pod\.yaml$/) < indexOf(/^kubectl exec/));
  assert.ok(indexOf(/^kubectl exec/) < indexOf(/examples\/pvc-reader\.yaml$/));
});

test("the driver is installed before the examples and removed after them", () => {
  const install = indexOf(/^kubectl apply -k manifests\/$/);
  const rollout = indexOf(/rollout status daemonset\/snapvol-node/);
  const firstExample = indexOf(/^kubectl apply -f manifests\/examples\//);
  const deleteExamples = indexOf(/^kubectl delete -f manifests\/examples\//);
  const uninstall = indexOf(/^kubectl delete -k manifests\/$/);
  assert.ok(install < rollout && rollout < firstExample, "install, wait, then examples");
  assert.ok(firstExample < deleteExamples && deleteExamples < uninstall, "examples deleted before the driver");
  assert.ok(uninstall < indexOf(/^kind delete cluster/));
  assert.ok(indexOf(/^helm uninstall/) < indexOf(/^kubectl delete csidriver/), "the kept CSIDriver is deleted after helm uninstall");
});
