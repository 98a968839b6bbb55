// A renderer for the part of Helm's Go templates that charts/snapvol uses,
// because helm itself is not packaged for Debian (and is not downloaded at
// test time). It follows text/template and Helm's rules for what it
// implements and throws on anything else, so a template that would need a
// feature it lacks fails the tests instead of being rendered wrongly.
//
// Actions: output pipelines; if / else if / else / end; with / else / end
// (dot rebinds); range over lists and maps (keys sorted), with `$v :=` or
// `$k, $v :=`, and else; define (in any template file, `_*.tpl` included);
// variables `$x := …` and `$x = …`; `$` the template's root; comments
// {{/* */}}; whitespace trimming {{- -}}.
// Expressions: "strings", `raw strings`, numbers, true/false/nil, field
// chains (.Values.a.b, $.Values, $x.y, (pipeline).field), method calls on
// objects (.Capabilities.APIVersions.Has "v"), parenthesised pipelines.
// Functions: include, required, fail, default, empty, coalesce, ternary,
// quote, squote, toString, toYaml, nindent, indent, trim, lower, upper,
// printf (%s %d %v %q), and, or, not, eq, ne, lt, le, gt, ge, list, dict,
// hasKey, len, kindIs.
// Built-in objects: .Values, .Release (Name, Namespace, Service, IsInstall,
// IsUpgrade), .Chart (Name, Version, AppVersion), .Capabilities
// (APIVersions.Has, KubeVersion), .Template (Name, BasePath).
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

// ---- lexing of template text into text and action tokens ----

function tokenize(text, file) {
  const out = [];
  const re = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    out.push({ type: "text", value: text.slice(last, m.index) });
    out.push({ type: "action", trimLeft: !!m[1], body: m[2].trim(), trimRight: !!m[3], file, at: m.index });
    last = re.lastIndex;
  }
  out.push({ type: "text", value: text.slice(last) });
  for (let i = 0; i < out.length; i++) {
    const t = out[i];
    if (t.type !== "action") continue;
    if (t.trimLeft) out[i - 1].value = out[i - 1].value.replace(/\s+$/, "");
    if (t.trimRight) out[i + 1].value = out[i + 1].value.replace(/^\s+/, "");
  }
  return out;
}

// ---- expressions ----

// Splits an action body into lexemes: strings, parens, pipes, words.
function lex(src) {
  const toks = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length) throw new Error(`unterminated string in {{ ${src} }}`);
      toks.push({ k: "str", v: JSON.parse(src.slice(i, j + 1)) });
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) throw new Error(`unterminated raw string in {{ ${src} }}`);
      toks.push({ k: "str", v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === "(" || c === ")" || c === "|" || c === ",") {
      toks.push({ k: c });
      i++;
    } else if (c === ":" && src[i + 1] === "=") {
      toks.push({ k: ":=" });
      i += 2;
    } else if (c === "=" ) {
      toks.push({ k: "=" });
      i++;
    } else {
      let j = i;
      while (j < src.length && !/[\s()|,"`]/.test(src[j]) && !(src[j] === ":" && src[j + 1] === "=")) j++;
      toks.push({ k: "word", v: src.slice(i, j), glued: i > 0 && src[i - 1] === ")" });
      i = j;
    }
  }
  return toks;
}

// Parses lexemes into a pipeline: { decl: [names], assign: bool, cmds: [[operand...]] }.
function parsePipeline(toks, pos = 0, closing = null) {
  const pipe = { decl: [], define: false, cmds: [] };
  // Declarations: $x := …, $k, $v := …, $x = …
  let j = pos;
  const names = [];
  while (toks[j]?.k === "word" && toks[j].v.startsWith("$") && !toks[j].v.includes(".")) {
    names.push(toks[j].v);
    if (toks[j + 1]?.k === ",") { j += 2; continue; }
    j++;
    break;
  }
  if (names.length && (toks[j]?.k === ":=" || toks[j]?.k === "=")) {
    pipe.decl = names;
    pipe.define = toks[j].k === ":=";
    pos = j + 1;
  }
  let cmd = [];
  while (pos < toks.length) {
    const t = toks[pos];
    if (t.k === ")") {
      if (closing !== ")") throw new Error("unexpected )");
      break;
    }
    if (t.k === "|") {
      if (!cmd.length) throw new Error("empty command in pipeline");
      pipe.cmds.push(cmd);
      cmd = [];
      pos++;
      continue;
    }
    if (t.k === "(") {
      const inner = parsePipeline(toks, pos + 1, ")");
      pos = inner.pos;
      if (toks[pos]?.k !== ")") throw new Error("unclosed (");
      pos++;
      let fields = null;
      // (pipeline).a.b
      if (toks[pos]?.k === "word" && toks[pos].glued && toks[pos].v.startsWith(".")) {
        fields = toks[pos].v.slice(1).split(".");
        pos++;
      }
      cmd.push({ k: "paren", pipe: inner.pipe, fields });
      continue;
    }
    if (t.k === "str") cmd.push({ k: "lit", v: t.v });
    else if (t.k === "word") cmd.push(wordOperand(t.v));
    else throw new Error(`unexpected ${t.k}`);
    pos++;
  }
  if (cmd.length) pipe.cmds.push(cmd);
  if (closing === ")") return { pipe, pos };
  if (pos !== toks.length) throw new Error("trailing tokens");
  return { pipe, pos };
}

function wordOperand(w) {
  if (/^-?\d+(\.\d+)?$/.test(w)) return { k: "lit", v: Number(w) };
  if (w === "true" || w === "false") return { k: "lit", v: w === "true" };
  if (w === "nil") return { k: "lit", v: null };
  if (w === ".") return { k: "dot", fields: [] };
  if (w.startsWith(".")) return { k: "dot", fields: w.slice(1).split(".") };
  if (w.startsWith("$")) {
    const [name, ...fields] = w.split(".");
    return { k: "var", name, fields };
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) return { k: "fn", name: w };
  throw new Error(`cannot parse ${w}`);
}

function parseExpr(body) {
  return parsePipeline(lex(body)).pipe;
}

// ---- values ----

function truthy(v) {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

function field(v, names, where) {
  for (const n of names) {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object") throw new Error(`${where}: can't evaluate field ${n} in type ${typeof v}`);
    v = v[n];
  }
  return v;
}

function printValue(v) {
  if (v === undefined || v === null) return "";
  if (typeof v === "object") throw new Error(`printing a ${Array.isArray(v) ? "list" : "map"} (use toYaml): ${JSON.stringify(v)}`);
  return String(v);
}

function toYaml(v) {
  if (v === undefined || v === null) return "null";
  return yaml.dump(v, { lineWidth: -1, noRefs: true, sortKeys: true }).replace(/\n$/, "");
}

function indentText(n, s) {
  const pad = " ".repeat(n);
  return String(s)
    .split("\n")
    .map((l) => pad + l)
    .join("\n");
}

function goEq(a, b) {
  if ((typeof a === "object" && a !== null) || (typeof b === "object" && b !== null)) throw new Error("eq of a map or list");
  if (a != null && b != null && typeof a !== typeof b) throw new Error(`incompatible types for comparison: ${typeof a} and ${typeof b}`);
  return a === b || (a == null && b == null);
}

function sprintf(fmt, ...args) {
  let i = 0;
  return fmt.replace(/%([sdvq%])/g, (_, c) => {
    if (c === "%") return "%";
    const a = args[i++];
    if (c === "q") return JSON.stringify(String(a));
    return printValue(a);
  });
}

// ---- evaluation ----

class Renderer {
  constructor(defines, root) {
    this.defines = defines;
    this.root = root;
    this.depth = 0;
  }

  funcs(scope) {
    return {
      include: (name, ctx) => this.include(name, ctx),
      required: (msg, v) => {
        if (v === undefined || v === null || v === "") throw new Error(`execution error: ${msg}`);
        return v;
      },
      fail: (msg) => {
        throw new Error(`execution error: ${msg}`);
      },
      default: (d, ...rest) => (rest.length && truthy(rest[rest.length - 1]) ? rest[rest.length - 1] : d),
      empty: (v) => !truthy(v),
      coalesce: (...xs) => xs.find(truthy) ?? null,
      ternary: (a, b, c) => (truthy(c) ? a : b),
      quote: (...xs) => xs.map((v) => JSON.stringify(v === undefined || v === null ? "" : String(v))).join(" "),
      squote: (...xs) => xs.map((v) => `'${v === undefined || v === null ? "" : String(v)}'`).join(" "),
      toString: (v) => (v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)),
      toYaml,
      nindent: (n, s) => "\n" + indentText(n, s),
      indent: (n, s) => indentText(n, s),
      trim: (s) => String(s).trim(),
      lower: (s) => String(s).toLowerCase(),
      upper: (s) => String(s).toUpperCase(),
      printf: sprintf,
      and: (...xs) => {
        for (const x of xs) if (!truthy(x)) return x;
        return xs[xs.length - 1];
      },
      or: (...xs) => {
        for (const x of xs) if (truthy(x)) return x;
        return xs[xs.length - 1];
      },
      not: (x) => !truthy(x),
      eq: (a, ...bs) => bs.some((b) => goEq(a, b)),
      ne: (a, b) => !goEq(a, b),
      lt: (a, b) => a < b,
      le: (a, b) => a <= b,
      gt: (a, b) => a > b,
      ge: (a, b) => a >= b,
      list: (...xs) => xs,
      dict: (...kv) => {
        const o = {};
        for (let i = 0; i + 1 < kv.length; i += 2) o[String(kv[i])] = kv[i + 1];
        return o;
      },
      hasKey: (m, k) => m !== null && typeof m === "object" && Object.prototype.hasOwnProperty.call(m, k),
      len: (v) => (v === undefined || v === null ? 0 : Array.isArray(v) || typeof v === "string" ? v.length : Object.keys(v).length),
      kindIs: (kind, v) => {
        const k = v === null || v === undefined ? "invalid" : Array.isArray(v) ? "slice" : typeof v === "object" ? "map" : typeof v === "boolean" ? "bool" : typeof v === "number" ? (Number.isInteger(v) ? "int" : "float64") : "string";
        return k === kind;
      },
    };
  }

  include(name, ctx) {
    const def = this.defines[name];
    if (!def) throw new Error(`no template "${name}"`);
    if (++this.depth > 50) throw new Error(`include "${name}": too deep`);
    const out = this.nodes(def.children, ctx, new Map([["$", ctx]]));
    this.depth--;
    return out;
  }

  lookupVar(scope, name) {
    for (let s = scope; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
    throw new Error(`undefined variable ${name}`);
  }

  setVar(scope, name, value) {
    for (let s = scope; s; s = s.parent) {
      if (s.vars.has(name)) {
        s.vars.set(name, value);
        return;
      }
    }
    throw new Error(`assignment to undefined variable ${name}`);
  }

  operand(op, dot, scope, where) {
    switch (op.k) {
      case "lit":
        return op.v;
      case "dot":
        return field(dot, op.fields, where);
      case "var":
        return field(this.lookupVar(scope, op.name), op.fields, where);
      case "paren": {
        const v = this.pipeline(op.pipe, dot, scope, where);
        return op.fields ? field(v, op.fields, where) : v;
      }
      default:
        throw new Error(`${where}: unexpected operand`);
    }
  }

  command(cmd, dot, scope, where, piped, hasPiped) {
    const [head, ...rest] = cmd;
    if (head.k === "fn") {
      const fn = this.funcs(scope)[head.name];
      if (!fn) throw new Error(`${where}: unsupported function "${head.name}"`);
      const args = rest.map((a) => this.operand(a, dot, scope, where));
      if (hasPiped) args.push(piped);
      return fn(...args);
    }
    // A method call: .Capabilities.APIVersions.Has "v"
    if (rest.length || hasPiped) {
      if (head.k !== "dot" && head.k !== "var") throw new Error(`${where}: ${JSON.stringify(head)} is not a function`);
      const fields = head.fields;
      const recv = head.k === "dot" ? field(dot, fields.slice(0, -1), where) : field(this.lookupVar(scope, head.name), fields.slice(0, -1), where);
      const m = recv?.[fields[fields.length - 1]];
      if (typeof m !== "function") throw new Error(`${where}: ${fields.join(".")} is not a method`);
      const args = rest.map((a) => this.operand(a, dot, scope, where));
      if (hasPiped) args.push(piped);
      return m(...args);
    }
    return this.operand(head, dot, scope, where);
  }

  pipeline(pipe, dot, scope, where) {
    let v;
    pipe.cmds.forEach((cmd, i) => {
      v = this.command(cmd, dot, scope, where, v, i > 0);
    });
    if (pipe.decl.length) {
      if (pipe.decl.length !== 1) throw new Error(`${where}: only range declares two variables`);
      if (pipe.define) scope.vars.set(pipe.decl[0], v);
      else this.setVar(scope, pipe.decl[0], v);
    }
    return v;
  }

  nodes(list, dot, vars, parentScope = null) {
    const scope = { vars: vars instanceof Map ? vars : new Map(), parent: parentScope };
    let out = "";
    for (const n of list) out += this.node(n, dot, scope);
    return out;
  }

  node(n, dot, scope) {
    const where = `${n.file ?? ""}:${n.line ?? "?"}`;
    try {
      switch (n.type) {
        case "text":
          return n.value;
        case "output": {
          const v = this.pipeline(n.pipe, dot, scope, where);
          return n.pipe.decl.length ? "" : printValue(v);
        }
        case "if": {
          for (const br of n.branches) {
            if (truthy(this.pipeline(br.pipe, dot, scope, where))) return this.nodes(br.children, dot, null, scope);
          }
          return this.nodes(n.elseChildren, dot, null, scope);
        }
        case "with": {
          const v = this.pipeline(n.pipe, dot, scope, where);
          return truthy(v) ? this.nodes(n.children, v, null, scope) : this.nodes(n.elseChildren, dot, null, scope);
        }
        case "range": {
          const inner = { ...n.pipe, decl: [] };
          const v = this.pipeline(inner, dot, scope, where);
          if (!truthy(v)) return this.nodes(n.elseChildren, dot, null, scope);
          if (typeof v !== "object") throw new Error(`${where}: range over ${typeof v}`);
          const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.keys(v).sort().map((k) => [k, v[k]]);
          let out = "";
          for (const [k, x] of entries) {
            const vars = new Map();
            if (n.pipe.decl.length === 1) vars.set(n.pipe.decl[0], x);
            if (n.pipe.decl.length === 2) {
              vars.set(n.pipe.decl[0], k);
              vars.set(n.pipe.decl[1], x);
            }
            out += this.nodes(n.children, x, vars, scope);
          }
          return out;
        }
        default:
          throw new Error(`unknown node ${n.type}`);
      }
    } catch (e) {
      if (!e.message.includes(where) && n.file) e.message = `${where}: ${e.message}`;
      throw e;
    }
  }
}

// ---- parsing of the token stream into a tree ----

const UNSUPPORTED = /^(template|block|break|continue|tpl|lookup)\b/;

function parse(tokens, text) {
  const root = { type: "root", children: [] };
  const stack = [root];
  const defines = {};
  const lineOf = (at) => text.slice(0, at).split("\n").length;
  const current = () => {
    const top = stack[stack.length - 1];
    if (top.type === "if") return top.inElse ? top.elseChildren : top.branches[top.branches.length - 1].children;
    if (top.type === "with" || top.type === "range") return top.inElse ? top.elseChildren : top.children;
    return top.children;
  };
  for (const t of tokens) {
    if (t.type === "text") {
      current().push({ type: "text", value: t.value });
      continue;
    }
    const body = t.body;
    const at = { file: t.file, line: lineOf(t.at) };
    const fail = (msg) => {
      throw new Error(`${t.file}:${at.line}: ${msg}`);
    };
    if (body.startsWith("/*")) {
      if (!body.endsWith("*/")) fail("unterminated comment");
      continue;
    }
    let m;
    try {
      if ((m = /^if\s+([\s\S]+)$/.exec(body))) {
        const node = { type: "if", branches: [{ pipe: parseExpr(m[1]), children: [] }], elseChildren: [], inElse: false, ...at };
        current().push(node);
        stack.push(node);
      } else if ((m = /^else\s+if\s+([\s\S]+)$/.exec(body))) {
        const top = stack[stack.length - 1];
        if (top.type !== "if" || top.inElse) fail("else if outside if");
        top.branches.push({ pipe: parseExpr(m[1]), children: [] });
      } else if (body === "else") {
        const top = stack[stack.length - 1];
        if (!["if", "with", "range"].includes(top.type) || top.inElse) fail("else outside if/with/range");
        top.inElse = true;
      } else if ((m = /^(with|range)\s+([\s\S]+)$/.exec(body))) {
        const node = { type: m[1], pipe: parseExpr(m[2]), children: [], elseChildren: [], inElse: false, ...at };
        if (m[1] === "with" && node.pipe.decl.length) fail("with with a variable is not supported");
        current().push(node);
        stack.push(node);
      } else if ((m = /^define\s+"([^"]+)"$/.exec(body))) {
        if (stack.length !== 1) fail("define inside a block");
        const node = { type: "define", name: m[1], children: [] };
        defines[m[1]] = node;
        stack.push(node);
      } else if (body === "end") {
        if (stack.length < 2) fail("unbalanced end");
        stack.pop();
      } else if (UNSUPPORTED.test(body)) {
        fail(`unsupported template action: ${body}`);
      } else {
        current().push({ type: "output", pipe: parseExpr(body), ...at });
      }
    } catch (e) {
      if (!e.message.startsWith(`${t.file}:`)) e.message = `${t.file}:${at.line}: ${e.message}`;
      throw e;
    }
  }
  if (stack.length !== 1) throw new Error(`${tokens[0]?.file ?? ""}: unterminated block`);
  return { root, defines };
}

function deepMerge(base, over) {
  if (over === undefined) return base;
  if (over === null) return null;  // helm: null deletes a default
  if (typeof base !== "object" || base === null || Array.isArray(base) || typeof over !== "object" || Array.isArray(over)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const merged = deepMerge(base[k], v);
    if (merged === null) delete out[k];
    else out[k] = merged;
  }
  return out;
}

// Helm refuses a chart whose kubeVersion the cluster does not meet; only the
// ">=X.Y.Z-0" form is understood here.
function checkKubeVersion(constraint, version) {
  if (!constraint) return;
  const m = /^>=\s*(\d+)\.(\d+)\.(\d+)(-0)?$/.exec(constraint);
  if (!m) throw new Error(`unsupported kubeVersion constraint ${constraint}`);
  const want = [Number(m[1]), Number(m[2]), Number(m[3])];
  const have = version.replace(/^v/, "").split(/[.-]/).slice(0, 3).map(Number);
  for (let i = 0; i < 3; i++) {
    if (have[i] > want[i]) return;
    if (have[i] < want[i]) throw new Error(`chart requires kubeVersion: ${constraint} which is incompatible with Kubernetes ${version}`);
  }
}

// Renders every template of `chartDir`; returns { file: text }.
//   namespace, values: as `helm install -n NAMESPACE -f values`;
//   apiVersions: group/versions the cluster serves beyond the built-in ones
//     (helm's --api-versions), e.g. ["snapshot.storage.k8s.io/v1"];
//   kubeVersion: the cluster's version (helm's --kube-version).
export function renderChart(chartDir, { namespace = "default", values = {}, apiVersions = [], kubeVersion = "v1.35.0", releaseName = "snapvol" } = {}) {
  const chart = yaml.load(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8"));
  checkKubeVersion(chart.kubeVersion, kubeVersion);
  const defaults = yaml.load(fs.readFileSync(path.join(chartDir, "values.yaml"), "utf8")) ?? {};
  const builtin = ["v1", "apps/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1", "policy/v1", "batch/v1", "coordination.k8s.io/v1"];
  const served = new Set([...builtin, ...apiVersions]);
  const [major, minor] = kubeVersion.replace(/^v/, "").split(".");
  const ctx = {
    Values: deepMerge(defaults, values),
    Release: { Namespace: namespace, Name: releaseName, Service: "Helm", IsInstall: true, IsUpgrade: false },
    Chart: { Version: chart.version, AppVersion: chart.appVersion, Name: chart.name },
    Capabilities: {
      APIVersions: { Has: (v) => served.has(v) },
      KubeVersion: { Version: kubeVersion, GitVersion: kubeVersion, Major: major, Minor: minor },
    },
    Template: { BasePath: `${chart.name}/templates` },
  };
  const dir = path.join(chartDir, "templates");
  const files = fs.readdirSync(dir).sort();
  const parsed = {};
  const defines = {};
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    parsed[f] = parse(tokenize(text, f), text);
    Object.assign(defines, parsed[f].defines);
  }
  const out = {};
  for (const f of files.filter((f) => !f.startsWith("_"))) {
    const r = new Renderer(defines, ctx);
    const fileCtx = { ...ctx, Template: { ...ctx.Template, Name: `${chart.name}/templates/${f}` } };
    out[f] = r.nodes(parsed[f].root.children, fileCtx, new Map([["$", fileCtx]]));
  }
  return out;
}

// The objects of rendered YAML files (NOTES.txt excluded, empty docs dropped).
export function renderedObjects(rendered) {
  const objs = [];
  for (const [file, text] of Object.entries(rendered)) {
    if (!file.endsWith(".yaml")) continue;
    let docs;
    try {
      docs = yaml.loadAll(text);
    } catch (e) {
      throw new Error(`${file} does not render to YAML: ${e.message}\n${text}`);
    }
    for (const doc of docs) if (doc) objs.push({ file, doc });
  }
  return objs;
}
