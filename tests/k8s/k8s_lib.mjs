// Helpers shared by the manifest and chart tests: loading YAML documents,
// validating them against the Kubernetes API schemas (kubernetes-models),
// and the consistency checks both the manifests and the rendered chart
// must pass.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DRIVER = "snapvol.csi.io";

export function yamlFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

// Every document of a YAML file; fails naming file and position on a syntax error.
export function loadDocs(file) {
  const text = fs.readFileSync(file, "utf8");
  try {
    return yaml.loadAll(text, null, { filename: file }).filter((d) => d);
  } catch (e) {
    throw new Error(`${path.relative(ROOT, file)}: ${e.message}`);
  }
}

// Kinds with no model in kubernetes-models (CRDs of external-snapshotter):
// checked against their published CRD schema by hand.
const CRD_CHECKS = {
  "snapshot.storage.k8s.io/v1/VolumeSnapshotClass": (o) => {
    assert.equal(typeof o.driver, "string", "VolumeSnapshotClass.driver");
    assert.ok(["Delete", "Retain"].includes(o.deletionPolicy), "deletionPolicy Delete|Retain");
    for (const k of Object.keys(o)) {
      assert.ok(["apiVersion", "kind", "metadata", "driver", "deletionPolicy", "parameters"].includes(k),
                `unknown VolumeSnapshotClass field ${k}`);
    }
  },
  "snapshot.storage.k8s.io/v1/VolumeSnapshot": (o) => {
    const src = o.spec?.source ?? {};
    assert.ok(!!src.persistentVolumeClaimName !== !!src.volumeSnapshotContentName,
              "VolumeSnapshot.spec.source needs exactly one of persistentVolumeClaimName, volumeSnapshotContentName");
    for (const k of Object.keys(o.spec)) {
      assert.ok(["source", "volumeSnapshotClassName"].includes(k), `unknown VolumeSnapshot.spec field ${k}`);
    }
  },
};

// Validates one object against the API schema of its apiVersion/kind.
export async function validateObject(obj, where) {
  assert.ok(obj.apiVersion && obj.kind, `${where}: apiVersion and kind are required`);
  assert.ok(obj.metadata?.name, `${where}: metadata.name is required`);
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (CRD_CHECKS[key]) return CRD_CHECKS[key](obj);
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [null, obj.apiVersion];
  const mod = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
  let Model;
  try {
    Model = (await import(mod))[obj.kind];
  } catch (e) {
    throw new Error(`${where}: no schema for ${key}: ${e.message}`);
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    throw new Error(`${where}: ${key} ${obj.metadata.name} is invalid: ${e.message}`);
  }
  checkContainers(obj, where);
}

// kubernetes-models does not reject unknown fields; typos in the fields that
// matter most here (containers, volumes) are caught by hand.
const CONTAINER_FIELDS = new Set(["name", "image", "imagePullPolicy", "command", "args", "env", "envFrom",
  "ports", "livenessProbe", "readinessProbe", "startupProbe", "resources", "volumeMounts", "volumeDevices",
  "securityContext", "workingDir", "lifecycle", "stdin", "tty", "terminationMessagePath",
  "terminationMessagePolicy", "restartPolicy", "resizePolicy", "stdinOnce"]);
const MOUNT_FIELDS = new Set(["name", "mountPath", "readOnly", "mountPropagation", "subPath", "subPathExpr",
  "recursiveReadOnly"]);
function podSpecOf(obj) {
  if (obj.kind === "Pod") return obj.spec;
  if (obj.kind === "Job") return obj.spec.template.spec;
  if (["Deployment", "DaemonSet", "StatefulSet"].includes(obj.kind)) return obj.spec.template.spec;
  return null;
}
function checkContainers(obj, where) {
  const spec = podSpecOf(obj);
  if (!spec) return;
  const volumes = new Set((spec.volumes || []).map((v) => v.name));
  for (const c of [...(spec.initContainers || []), ...spec.containers]) {
    for (const k of Object.keys(c)) assert.ok(CONTAINER_FIELDS.has(k), `${where}: container ${c.name}: unknown field ${k}`);
    for (const m of c.volumeMounts || []) {
      for (const k of Object.keys(m)) assert.ok(MOUNT_FIELDS.has(k), `${where}: container ${c.name}: unknown volumeMount field ${k}`);
      assert.ok(volumes.has(m.name), `${where}: container ${c.name} mounts undeclared volume ${m.name}`);
    }
  }
}

// Sidecars: a released kubernetes-csi image, a restrictive securityContext,
// and a health endpoint kubelet probes (--http-endpoint, or the
// livenessprobe's --health-port, which the driver's probe uses).
const SIDECAR_IMAGE = /^registry\.k8s\.io\/sig-storage\/(csi-provisioner|csi-snapshotter|csi-node-driver-registrar|livenessprobe):v\d+\.\d+\.\d+$/;
function checkSidecar(workload, c) {
  const where = `${workload.metadata.name}/${c.name}`;
  assert.match(c.image, SIDECAR_IMAGE, `${where}: image`);
  const sc = c.securityContext ?? {};
  assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
  assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
  assert.ok(!sc.privileged, `${where}: not privileged`);
  assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${where}: drops ALL capabilities`);
  assert.ok(!sc.capabilities?.add, `${where}: adds no capabilities`);
  if (c.name === "liveness-probe") return;
  const endpoint = arg(c, "--http-endpoint");
  assert.ok(endpoint, `${where}: --http-endpoint`);
  const port = Number(endpoint.split(":").pop());
  const named = (c.ports || []).find((p) => p.containerPort === port);
  assert.ok(named, `${where}: port ${port} declared`);
  const probe = c.livenessProbe?.httpGet;
  assert.ok(probe, `${where}: livenessProbe`);
  assert.ok(probe.port === named.name || probe.port === port, `${where}: probe on the --http-endpoint port`);
  const expected = arg(c, "--leader-election") ? "/healthz/leader-election" : "/healthz";
  assert.equal(probe.path, expected, `${where}: probe path`);
  assert.ok(c.livenessProbe.timeoutSeconds >= 2, `${where}: probe timeout`);
}

function arg(container, flag) {
  const prefix = `${flag}=`;
  const a = (container.args || []).find((x) => x === flag || x.startsWith(prefix));
  if (a === undefined) return undefined;
  return a === flag ? true : a.slice(prefix.length);
}

// Cross-object checks: names, driver name and socket paths agree.
export function checkConsistency(objects, { kubeletDir = "/var/lib/kubelet" } = {}) {
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const one = (k, name) => {
    const found = objects.filter((o) => o.kind === k && (!name || o.metadata.name === name));
    assert.equal(found.length, 1, `expected one ${k}${name ? " " + name : ""}, found ${found.length}`);
    return found[0];
  };

  const driver = one("CSIDriver");
  assert.equal(driver.metadata.name, DRIVER);
  assert.equal(driver.spec.attachRequired, false);
  assert.equal(driver.spec.podInfoOnMount, true);
  assert.deepEqual([...driver.spec.volumeLifecycleModes].sort(), ["Ephemeral", "Persistent"]);
  assert.equal(driver.spec.fsGroupPolicy, "None");

  for (const sc of byKind("StorageClass")) assert.equal(sc.provisioner, DRIVER, `StorageClass ${sc.metadata.name}`);
  for (const vsc of byKind("VolumeSnapshotClass")) assert.equal(vsc.driver, DRIVER);

  const serviceAccounts = new Set(byKind("ServiceAccount").map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  for (const b of [...byKind("ClusterRoleBinding"), ...byKind("RoleBinding")]) {
    for (const s of b.subjects) assert.ok(serviceAccounts.has(`${s.namespace}/${s.name}`), `${b.kind} ${b.metadata.name} binds unknown ${s.namespace}/${s.name}`);
    const roles = objects.filter((o) => o.kind === b.roleRef.kind && o.metadata.name === b.roleRef.name);
    assert.equal(roles.length, 1, `${b.kind} ${b.metadata.name} refers to missing ${b.roleRef.kind} ${b.roleRef.name}`);
  }

  const checkPlugin = (workload, mode) => {
    const spec = workload.spec.template.spec;
    assert.ok(serviceAccounts.has(`${workload.metadata.namespace}/${spec.serviceAccountName}`), `${workload.metadata.name}: service account`);
    const drv = spec.containers.find((c) => c.name === "snapvol-driver");
    assert.ok(drv, `${workload.metadata.name}: snapvol-driver container`);
    assert.equal(arg(drv, "--mode"), mode);
    const endpoint = arg(drv, "--endpoint");
    assert.match(endpoint, /^unix:\/\//);
    const socket = endpoint.slice("unix://".length);
    const socketDir = path.posix.dirname(socket);
    const mountOf = (c, dir) => (c.volumeMounts || []).find((m) => m.mountPath === dir);
    const drvMount = mountOf(drv, socketDir);
    assert.ok(drvMount, `${workload.metadata.name}: the driver's socket dir ${socketDir} is a volume`);
    for (const c of spec.containers.filter((c) => c !== drv)) {
      const addr = arg(c, "--csi-address");
      assert.equal(addr, socket, `${workload.metadata.name}/${c.name}: --csi-address`);
      const m = mountOf(c, socketDir);
      assert.ok(m && m.name === drvMount.name, `${workload.metadata.name}/${c.name} shares the socket volume`);
    }
    const probe = spec.containers.find((c) => c.name === "liveness-probe");
    assert.ok(probe, `${workload.metadata.name}: livenessprobe sidecar`);
    const port = drv.ports.find((p) => p.name === "healthz").containerPort;
    assert.equal(Number(arg(probe, "--health-port")), port, "livenessprobe port = healthz port");
    assert.equal(drv.livenessProbe.httpGet.port, "healthz");
    assert.ok(arg(drv, "--store"), "--store");
    // The livenessprobe sidecar's own Probe timeout fits inside kubelet's.
    const probeTimeout = Number(String(arg(probe, "--probe-timeout") ?? "1s").replace(/s$/, ""));
    assert.ok(probeTimeout < drv.livenessProbe.timeoutSeconds, `${workload.metadata.name}: --probe-timeout ${probeTimeout}s < kubelet's ${drv.livenessProbe.timeoutSeconds}s`);
    for (const sc of spec.containers.filter((x) => x !== drv)) checkSidecar(workload, sc);
    const ports = spec.containers.flatMap((x) => (x.ports || []).map((p) => p.containerPort));
    assert.equal(new Set(ports).size, ports.length, `${workload.metadata.name}: container ports are distinct`);
    return { spec, drv, drvMount };
  };

  const controller = one("Deployment", "snapvol-controller");
  const c = checkPlugin(controller, "controller");
  const prov = c.spec.containers.find((x) => x.name === "csi-provisioner");
  assert.ok(prov, "csi-provisioner sidecar");
  assert.equal(arg(prov, "--extra-create-metadata"), true, "csi-provisioner --extra-create-metadata");
  // csi-snapshotter exactly when there is a VolumeSnapshotClass: without
  // the snapshot CRDs it would only log errors.
  assert.equal(!!c.spec.containers.find((x) => x.name === "csi-snapshotter"), byKind("VolumeSnapshotClass").length > 0,
               "csi-snapshotter if and only if a VolumeSnapshotClass");

  const node = one("DaemonSet", "snapvol-node");
  const n = checkPlugin(node, "node");
  assert.equal(n.drv.securityContext.privileged, true, "node plugin is privileged");
  assert.equal(n.spec.hostPID, true, "node plugin uses hostPID");
  const vol = (name) => n.spec.volumes.find((v) => v.name === name);
  const pluginDir = `${kubeletDir}/plugins/${DRIVER}`;
  assert.equal(vol(n.drvMount.name).hostPath.path, pluginDir, "node socket dir is the kubelet plugin dir");
  const reg = n.spec.containers.find((x) => x.name === "node-driver-registrar");
  assert.ok(reg, "node-driver-registrar");
  assert.equal(arg(reg, "--kubelet-registration-path"), `${pluginDir}/csi.sock`);
  const regMount = reg.volumeMounts.find((m) => m.mountPath === "/registration");
  assert.equal(vol(regMount.name).hostPath.path, `${kubeletDir}/plugins_registry`);
  // Bidirectional propagation on kubelet's pods/ directory only (where the
  // target paths are: the driver does not stage), at the same path.
  const podsMount = n.drv.volumeMounts.find((m) => m.mountPath === `${kubeletDir}/pods`);
  assert.ok(podsMount, "driver mounts kubelet's pods dir at the same path");
  assert.equal(podsMount.mountPropagation, "Bidirectional");
  assert.equal(vol(podsMount.name).hostPath.path, `${kubeletDir}/pods`);
  assert.equal(arg(n.drv, "--kubelet-dir"), kubeletDir, "--kubelet-dir names kubelet's root");
  for (const w of [c, n]) {
    for (const ct of w.spec.containers) {
      for (const m of ct.volumeMounts || []) {
        if (m !== podsMount) assert.ok(!m.mountPropagation || m.mountPropagation === "None", `${ct.name}: ${m.mountPath} propagates ${m.mountPropagation}`);
      }
    }
  }
  const fuse = n.drv.volumeMounts.find((m) => m.mountPath === "/dev/fuse");
  assert.ok(fuse, "/dev/fuse mounted");
  assert.equal(vol(fuse.name).hostPath.type, "CharDevice");

  // The same store for controller and node plugin.
  assert.equal(arg(c.drv, "--store"), arg(n.drv, "--store"));
  const storeVol = (s, d) => s.volumes.find((v) => v.name === d.volumeMounts.find((m) => arg(d, "--store").startsWith(m.mountPath)).name);
  assert.equal(storeVol(c.spec, c.drv).hostPath.path, storeVol(n.spec, n.drv).hostPath.path);
  return { controller, node };
}
