// A builder for the part of kustomize that manifests/ uses (`kubectl apply
// -k` embeds kustomize; CI has no kubectl): `resources` (files and
// directories with their own kustomization.yaml) and `patches` with `path`
// (strategic merge). It keeps kustomize's rules that matter here — a file
// must lie in or below its kustomization's directory, a directory resource
// must not contain a kustomization already being built (the cycle kustomize
// refuses), an object may appear only once, a patch must hit exactly one
// object — and throws on any other field, so a kustomization that needs
// more than this fails the tests instead of being built wrongly.
//
// Strategic merge: maps merge key by key; the lists Kubernetes merges by
// key (containers, initContainers, volumes, env, imagePullSecrets by name;
// volumeMounts by mountPath; ports by containerPort) merge item by item,
// new items first as kustomize puts them; other lists are replaced.
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

const MERGE_KEYS = {
  containers: "name",
  initContainers: "name",
  volumes: "name",
  env: "name",
  imagePullSecrets: "name",
  volumeMounts: "mountPath",
  ports: "containerPort",
};
const FIELDS = new Set(["apiVersion", "kind", "resources", "patches"]);

function strategicMerge(base, patch, key = null) {
  if (patch === null) return undefined;
  if (Array.isArray(patch)) {
    const mk = MERGE_KEYS[key];
    if (!mk || !Array.isArray(base)) return structuredClone(patch);
    const out = base.map((x) => structuredClone(x));
    const added = [];
    for (const p of patch) {
      if (p?.$patch) throw new Error(`$patch directives are not supported (${key})`);
      const i = out.findIndex((x) => x[mk] === p[mk]);
      if (i >= 0) out[i] = strategicMerge(out[i], p);
      else added.push(structuredClone(p));
    }
    return [...added, ...out];
  }
  if (typeof patch !== "object" || typeof base !== "object" || base === null || Array.isArray(base)) return structuredClone(patch);
  const out = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) throw new Error(`directive ${k} is not supported`);
    const merged = strategicMerge(base[k], v, k);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

const id = (o) => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;

function within(file, dir) {
  const rel = path.relative(dir, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

// The objects `kubectl kustomize DIR` builds, in resource order.
export function kustomizeBuild(dir, visiting = []) {
  dir = path.resolve(dir);
  for (const v of visiting) {
    if (within(v, dir)) throw new Error(`cycle detected: candidate root '${dir}' contains visited root '${v}'`);
  }
  const kfile = path.join(dir, "kustomization.yaml");
  if (!fs.existsSync(kfile)) throw new Error(`${dir}: no kustomization.yaml`);
  const k = yaml.load(fs.readFileSync(kfile, "utf8"));
  for (const f of Object.keys(k)) if (!FIELDS.has(f)) throw new Error(`${kfile}: field ${f} is not supported here`);
  if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") {
    throw new Error(`${kfile}: apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization`);
  }
  const objects = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) {
      objects.push(...kustomizeBuild(p, [...visiting, dir]));
      continue;
    }
    if (!within(p, dir)) throw new Error(`${kfile}: security; file '${p}' is not in or below '${dir}'`);
    if (!fs.existsSync(p)) throw new Error(`${kfile}: resource ${r} does not exist`);
    for (const doc of yaml.loadAll(fs.readFileSync(p, "utf8"))) if (doc) objects.push(doc);
  }
  const seen = new Set();
  for (const o of objects) {
    if (seen.has(id(o))) throw new Error(`${kfile}: ${id(o)} appears twice`);
    seen.add(id(o));
  }
  for (const pt of k.patches ?? []) {
    const keys = Object.keys(pt);
    if (keys.length !== 1 || keys[0] !== "path") throw new Error(`${kfile}: only patches with a path are supported`);
    const p = path.resolve(dir, pt.path);
    if (!within(p, dir)) throw new Error(`${kfile}: security; patch '${p}' is not in or below '${dir}'`);
    for (const patch of yaml.loadAll(fs.readFileSync(p, "utf8")).filter((d) => d)) {
      const hits = objects.map((o, i) => [o, i]).filter(([o]) => o.kind === patch.kind && o.metadata.name === patch.metadata.name &&
        (o.metadata.namespace ?? "") === (patch.metadata.namespace ?? "") && o.apiVersion.split("/")[0] === patch.apiVersion.split("/")[0]);
      if (hits.length !== 1) throw new Error(`${p}: patch target ${id(patch)} found ${hits.length} times`);
      objects[hits[0][1]] = strategicMerge(hits[0][0], patch);
    }
  }
  return objects;
}

// The files a kustomization reads (resources and patches, recursively).
export function kustomizeFiles(dir) {
  dir = path.resolve(dir);
  const k = yaml.load(fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8"));
  const out = [path.join(dir, "kustomization.yaml")];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (fs.statSync(p).isDirectory()) out.push(...kustomizeFiles(p));
    else out.push(p);
  }
  for (const pt of k.patches ?? []) out.push(path.resolve(dir, pt.path));
  return out;
}
