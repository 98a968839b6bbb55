// A small renderer for the subset of Helm's Go templates that
// charts/snapvol uses, because helm itself is not packaged for Debian. It
// throws on anything outside the subset, so a template that would need real
// Helm features fails the tests instead of being rendered wrongly.
//
// Supported: {{ .Values.a.b }}, .Release.Namespace/.Release.Service/.Release.Name,
// .Chart.Version/.Chart.AppVersion/.Chart.Name; pipelines with quote,
// nindent N, indent N, toYaml, default X; include "name" .; define blocks
// (in _helpers.tpl); if/else/end on a value's truthiness (nestable);
// whitespace trimming with {{- and -}}; comments {{/* */}}.
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

function tokenize(text) {
  const out = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    out.push({ type: "text", value: text.slice(last, m.index) });
    out.push({ type: "action", trimLeft: m[1] === "-", body: m[2], trimRight: m[3] === "-" });
    last = re.lastIndex;
  }
  out.push({ type: "text", value: text.slice(last) });
  for (let i = 0; i < out.length; i++) {
    const t = out[i];
    if (t.type !== "action") continue;
    if (t.trimLeft && i > 0) out[i - 1].value = out[i - 1].value.replace(/\s+$/, "");
    if (t.trimRight && i + 1 < out.length) out[i + 1].value = out[i + 1].value.replace(/^\s+/, "");
  }
  return out;
}

// Parses tokens into a tree of text / output / if / define nodes.
function parse(tokens) {
  const root = { children: [] };
  const stack = [root];
  const defines = {};
  for (const t of tokens) {
    const top = stack[stack.length - 1];
    const target = top.inElse ? top.elseChildren : top.children;
    if (t.type === "text") {
      target.push({ type: "text", value: t.value });
      continue;
    }
    const body = t.body;
    if (body.startsWith("/*")) continue;
    let m;
    if ((m = /^if\s+(.+)$/.exec(body))) {
      const node = { type: "if", cond: m[1], children: [], elseChildren: [], inElse: false };
      target.push(node);
      stack.push(node);
    } else if (body === "else") {
      if (top.type !== "if") throw new Error("else outside if");
      top.inElse = true;
    } else if ((m = /^define\s+"([^"]+)"$/.exec(body))) {
      const node = { type: "define", name: m[1], children: [] };
      defines[m[1]] = node;
      stack.push(node);
    } else if (body === "end") {
      if (stack.length < 2) throw new Error("unbalanced end");
      stack.pop();
    } else if (/^(range|with|template|block)\b/.test(body)) {
      throw new Error(`unsupported template action: ${body}`);
    } else {
      target.push({ type: "output", expr: body });
    }
  }
  if (stack.length !== 1) throw new Error("unterminated block");
  return { root, defines };
}

function lookup(ctx, ref) {
  if (ref === ".") return ctx;
  if (!ref.startsWith(".")) throw new Error(`unsupported reference ${ref}`);
  let v = ctx;
  for (const part of ref.slice(1).split(".")) {
    if (v === undefined || v === null) return undefined;
    v = v[part];
  }
  return v;
}

function literal(word, ctx) {
  if (/^".*"$/.test(word)) return JSON.parse(word);
  if (/^-?\d+$/.test(word)) return Number(word);
  if (word === "true" || word === "false") return word === "true";
  return lookup(ctx, word);
}

function words(s) {
  return s.match(/"(?:[^"\\]|\\.)*"|\S+/g) || [];
}

function toYaml(v) {
  if (v === undefined || v === null) return "";
  return yaml.dump(v, { lineWidth: -1 }).replace(/\n$/, "");
}

function indentText(s, n) {
  const pad = " ".repeat(n);
  return s
    .split("\n")
    .map((l) => (l.length ? pad + l : l))
    .join("\n");
}

function evalExpr(expr, ctx, defines) {
  const stages = expr.split("|").map((s) => s.trim());
  let value;
  {
    const w = words(stages[0]);
    if (w[0] === "include") {
      if (w.length !== 3) throw new Error(`include needs a name and a context: ${expr}`);
      const def = defines[JSON.parse(w[1])];
      if (!def) throw new Error(`no template ${w[1]}`);
      value = renderNodes(def.children, literal(w[2], ctx), defines);
    } else if (w[0] === "toYaml") {
      value = toYaml(literal(w[1], ctx));
    } else if (w.length === 1) {
      value = literal(w[0], ctx);
    } else {
      throw new Error(`unsupported expression: ${expr}`);
    }
  }
  for (const stage of stages.slice(1)) {
    const w = words(stage);
    switch (w[0]) {
      case "quote":
        value = JSON.stringify(value === undefined || value === null ? "" : String(value));
        break;
      case "nindent":
        value = "\n" + indentText(String(value), Number(w[1]));
        break;
      case "indent":
        value = indentText(String(value), Number(w[1]));
        break;
      case "toYaml":
        value = toYaml(value);
        break;
      case "default":
        if (value === undefined || value === null || value === "" || value === false) {
          value = literal(w[1], ctx);
        }
        break;
      default:
        throw new Error(`unsupported function ${w[0]} in ${expr}`);
    }
  }
  if (value === undefined || value === null) return "";
  return String(value);
}

function truthy(v) {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

function renderNodes(nodes, ctx, defines) {
  let out = "";
  for (const n of nodes) {
    if (n.type === "text") out += n.value;
    else if (n.type === "output") out += evalExpr(n.expr, ctx, defines);
    else if (n.type === "if") {
      const w = words(n.cond);
      const cond = w[0] === "not" ? !truthy(literal(w[1], ctx)) : truthy(literal(w[0], ctx));
      out += renderNodes(cond ? n.children : n.elseChildren, ctx, defines);
    }
  }
  return out;
}

function deepMerge(base, over) {
  if (over === undefined) return base;
  if (typeof base !== "object" || base === null || Array.isArray(base)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over || {})) out[k] = deepMerge(base[k], v);
  return out;
}

// Renders every template of `chartDir`; returns { file: text }.
export function renderChart(chartDir, { namespace = "default", values = {} } = {}) {
  const chart = yaml.load(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8"));
  const defaults = yaml.load(fs.readFileSync(path.join(chartDir, "values.yaml"), "utf8"));
  const ctx = {
    Values: deepMerge(defaults, values),
    Release: { Namespace: namespace, Name: "snapvol", Service: "Helm" },
    Chart: { Version: chart.version, AppVersion: chart.appVersion, Name: chart.name },
  };
  const dir = path.join(chartDir, "templates");
  const files = fs.readdirSync(dir).sort();
  const defines = {};
  for (const f of files.filter((f) => f.endsWith(".tpl"))) {
    Object.assign(defines, parse(tokenize(fs.readFileSync(path.join(dir, f), "utf8"))).defines);
  }
  const out = {};
  for (const f of files.filter((f) => !f.endsWith(".tpl"))) {
    const { root, defines: local } = parse(tokenize(fs.readFileSync(path.join(dir, f), "utf8")));
    out[f] = renderNodes(root.children, ctx, { ...defines, ...local });
  }
  return out;
}

// The objects of rendered YAML files (NOTES.txt excluded, empty docs dropped).
export function renderedObjects(rendered) {
  const objs = [];
  for (const [file, text] of Object.entries(rendered)) {
    if (!file.endsWith(".yaml")) continue;
    for (const doc of yaml.loadAll(text)) if (doc) objs.push({ file, doc });
  }
  return objs;
}
