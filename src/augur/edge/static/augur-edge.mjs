// augur edge: run an augur bundle in the browser with onnxruntime-web.
//
//   import { predict } from "./augur-edge.mjs";    // inside an exported web bundle
//   const result = await predict([{ sepal_length: 5.1, sepal_width: 3.5, ... }]);
//   result.rows[0].label, result.outputs.probabilities.data, result.seconds
//
//   import { load } from "/edge/_/static/augur-edge.mjs";   // any bundle, any options
//   const model = await load("/edge/iris%3A1/bundle/", { backend: "wasm" });
//   await model.predict(records);
//
// Records become tensors exactly as augur's Python runtime builds them: each column
// goes to the tensor the manifest names, at its index in a shared matrix or as its own
// [n, 1] tensor; numbers are rounded to the tensor type, missing values are NaN (or ""
// for strings) where the column allows them and an error naming the column elsewhere.
// onnxruntime-web is loaded from the bundle (or the augur server), never from a CDN.

const TYPED = {
  FP32: ["float32", Float32Array], FP64: ["float64", Float64Array],
  INT8: ["int8", Int8Array], UINT8: ["uint8", Uint8Array],
  INT16: ["int16", Int16Array], UINT16: ["uint16", Uint16Array],
  INT32: ["int32", Int32Array], UINT32: ["uint32", Uint32Array],
  INT64: ["int64", BigInt64Array], UINT64: ["uint64", BigUint64Array],
  BOOL: ["bool", Uint8Array], BYTES: ["string", Array],
};

const RUNTIME_ENTRY = { wasm: "ort.wasm.min.mjs", webgpu: "ort.webgpu.min.mjs" };

export class EdgeInputError extends Error {
  constructor(message) { super(message); this.name = "EdgeInputError"; }
}

function describe(v) {
  const text = typeof v === "string" ? JSON.stringify(v) : String(v);
  return text.length <= 40 ? text : text.slice(0, 37) + "...";
}

// One column's values as numbers (or strings), checked against the column's kind.
export function columnValues(col, values) {
  const out = new Array(values.length);
  if (col.kind === "string") {
    values.forEach((v, i) => {
      if (typeof v === "string") out[i] = v;
      else if (v === null || (typeof v === "number" && Number.isNaN(v))) {
        if (!col.nullable) {
          throw new EdgeInputError(`column '${col.name}': missing value at row ${i} (expected a string)`);
        }
        out[i] = "";
      } else {
        throw new EdgeInputError(`column '${col.name}': expected a string, got ${describe(v)} (${typeof v}) at row ${i}`);
      }
    });
    return out;
  }
  values.forEach((v, i) => {
    if (v === null) out[i] = NaN;
    else if (typeof v === "boolean") {
      if (col.kind !== "bool") {
        throw new EdgeInputError(`column '${col.name}': expected ${col.kind}, got ${v} at row ${i}`);
      }
      out[i] = v ? 1 : 0;
    } else if (typeof v === "number") out[i] = v;
    else if (typeof v === "bigint") out[i] = Number(v);
    else {
      throw new EdgeInputError(`column '${col.name}': expected ${col.kind}, got ${describe(v)} (${typeof v}) at row ${i}`);
    }
    if (Number.isNaN(out[i]) && !col.nullable) {
      throw new EdgeInputError(`column '${col.name}': missing value (NaN) at row ${i}, and the column does not allow NaN`);
    }
    if ((col.kind === "int" || col.kind === "bool") && !Number.isNaN(out[i]) && !Number.isInteger(out[i])) {
      throw new EdgeInputError(`column '${col.name}': expected ${col.kind}, got ${out[i]} at row ${i}`);
    }
  });
  return out;
}

function store(datatype, typed, values, offset, stride) {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const at = offset + i * stride;
    if (datatype === "INT64" || datatype === "UINT64") {
      if (!Number.isFinite(v)) throw new EdgeInputError(`cannot store ${v} in an ${datatype} tensor`);
      typed[at] = BigInt(Math.trunc(v));
    } else if (datatype === "BYTES" || datatype.startsWith("FP")) {
      typed[at] = v;
    } else {
      if (!Number.isFinite(v)) throw new EdgeInputError(`cannot store ${v} in an ${datatype} tensor`);
      typed[at] = Math.trunc(v);
    }
  }
}

// Plain {data, dims, type} tensors for records, following the manifest's columns.
export function buildTensors(manifest, records) {
  if (!Array.isArray(records)) throw new EdgeInputError("records must be an array of objects");
  const columns = manifest.columns;
  if (!columns.length) throw new EdgeInputError("this model takes tensors, not records");
  records.forEach((r, i) => {
    if (r === null || typeof r !== "object" || Array.isArray(r)) {
      throw new EdgeInputError(`record ${i} is not an object`);
    }
    for (const c of columns) {
      if (r[c.name] === undefined) throw new EdgeInputError(`record ${i} is missing column '${c.name}'`);
    }
  });
  const n = records.length;
  const tensors = {};
  for (const spec of manifest.inputs) {
    const cols = columns.filter((c) => c.tensor === spec.name);
    if (!cols.length) throw new EdgeInputError(`input '${spec.name}' is not fed by any column`);
    const [type, Typed] = TYPED[spec.datatype] || [];
    if (!Typed) throw new EdgeInputError(`input '${spec.name}': unsupported datatype ${spec.datatype}`);
    const whole = cols.length === 1 && cols[0].index === null;
    const width = whole ? 1 : Math.max(...cols.map((c) => c.index || 0)) + 1;
    const data = Typed === Array ? new Array(n * width).fill("") : new Typed(n * width);
    for (const c of cols) {
      const values = columnValues(c, records.map((r) => r[c.name]));
      store(spec.datatype, data, values, whole ? 0 : (c.index || 0), width);
    }
    tensors[spec.name] = { type, data, dims: [n, width] };
  }
  return tensors;
}

// One {type, data, dims} tensor from a nested array, checked against the input's spec.
export function tensorFromNested(spec, value) {
  const dims = [];
  for (let v = value; Array.isArray(v); v = v[0]) dims.push(v.length);
  const want = `shape [${spec.shape.join(", ")}]`;
  if (dims.length !== spec.shape.length) {
    throw new EdgeInputError(`input '${spec.name}': expected ${spec.shape.length} dimensions (${want}), got shape [${dims.join(", ")}]`);
  }
  spec.shape.forEach((d, axis) => {
    if (d >= 0 && d !== dims[axis]) {
      throw new EdgeInputError(`input '${spec.name}': dimension ${axis} must be ${d}, got shape [${dims.join(", ")}]`);
    }
  });
  const flat = dims.length ? value.flat(Infinity) : [value];
  const size = dims.reduce((a, b) => a * b, 1);
  if (flat.length !== size || flat.some((x) => Array.isArray(x))) {
    throw new EdgeInputError(`input '${spec.name}': ragged array (shape [${dims.join(", ")}] expects ${size} values, got ${flat.length})`);
  }
  const [type, Typed] = TYPED[spec.datatype] || [];
  if (!Typed) throw new EdgeInputError(`input '${spec.name}': unsupported datatype ${spec.datatype}`);
  const kind = spec.datatype === "BYTES" ? "string" : spec.datatype === "BOOL" ? "bool"
    : spec.datatype.startsWith("FP") ? "float" : "int";
  const values = columnValues({ name: spec.name, kind, nullable: kind === "float" }, flat);
  const data = Typed === Array ? new Array(size) : new Typed(size);
  store(spec.datatype, data, values, 0, 1);
  return { type, data, dims };
}

function plain(tensor) {
  const data = tensor.data;
  const values = data instanceof BigInt64Array || data instanceof BigUint64Array
    ? Array.from(data, Number) : Array.from(data);
  return { type: tensor.type, dims: Array.from(tensor.dims), data: values };
}

// Output name -> one value (or row of values) per record.
function rowsOf(outputs, n) {
  const rows = Array.from({ length: n }, () => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    const width = t.dims.length > 1 ? t.dims.slice(1).reduce((a, b) => a * b, 1) : 1;
    for (let i = 0; i < n; i++) {
      rows[i][name] = t.dims.length > 1 && width !== 1
        ? t.data.slice(i * width, (i + 1) * width) : t.data[i * width];
    }
  }
  return rows;
}

async function sha256(bytes) {
  if (!globalThis.crypto || !crypto.subtle) return null;  // not a secure context
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchOk(url, as, token) {
  const response = await fetch(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return as === "json" ? response.json() : response.arrayBuffer();
}

// "auto": WebGPU where the browser has an adapter and the model gains from a GPU (the
// manifest's runtime.prefer), else WASM; trees and encoders run best on WASM anyway.
async function chooseBackend(wanted, available, prefer) {
  if (wanted !== "auto") {
    if (!available.includes(wanted)) throw new Error(`backend ${wanted} is not in this bundle`);
    return wanted;
  }
  if (prefer === "webgpu" && available.includes("webgpu") && globalThis.navigator && navigator.gpu) {
    try {
      if (await navigator.gpu.requestAdapter()) return "webgpu";
    } catch (_) { /* no usable adapter: WASM it is */ }
  }
  return "wasm";
}

export class EdgeModel {
  constructor(manifest, session, ort, info) {
    this.manifest = manifest;
    this.session = session;
    this.ort = ort;
    this.info = info;
    this.queue = Promise.resolve();
  }

  // Run records through the model. Returns {outputs, rows, seconds, runSeconds}.
  async predict(records) {
    const start = performance.now();
    const tensors = buildTensors(this.manifest, records);
    const result = await this.runTensors(tensors);
    result.rows = rowsOf(result.outputs, records.length);
    result.seconds = (performance.now() - start) / 1000;
    return result;
  }

  // Run nested arrays, one per input ({input: [[...], ...]}), for models without columns.
  async predictTensors(arrays) {
    const start = performance.now();
    if (arrays === null || typeof arrays !== "object" || Array.isArray(arrays)) {
      throw new EdgeInputError("send an object of input name -> nested array");
    }
    const names = this.manifest.inputs.map((s) => s.name);
    const unknown = Object.keys(arrays).filter((k) => !names.includes(k));
    if (unknown.length) throw new EdgeInputError(`unknown input(s) ${unknown.join(", ")}; the model takes: ${names.join(", ")}`);
    const tensors = {};
    for (const spec of this.manifest.inputs) {
      if (!(spec.name in arrays)) throw new EdgeInputError(`missing input '${spec.name}'`);
      tensors[spec.name] = tensorFromNested(spec, arrays[spec.name]);
    }
    const result = await this.runTensors(tensors);
    const n = this.manifest.inputs.length ? tensors[this.manifest.inputs[0].name].dims[0] || 1 : 1;
    result.rows = rowsOf(result.outputs, n);
    result.seconds = (performance.now() - start) / 1000;
    return result;
  }

  // The tensors predict(records) would feed the model.
  tensors(records) {
    return buildTensors(this.manifest, records);
  }

  // Run plain {name: {type, data, dims}} tensors (for models without columns).
  // One session runs one call at a time, so calls wait their turn.
  runTensors(tensors) {
    const run = this.queue.then(() => this.runNow(tensors));
    this.queue = run.catch(() => {});
    return run;
  }

  async runNow(tensors) {
    const feeds = {};
    for (const [name, t] of Object.entries(tensors)) {
      feeds[name] = new this.ort.Tensor(t.type, t.data, t.dims);
    }
    const start = performance.now();
    const raw = await this.session.run(feeds);
    const runSeconds = (performance.now() - start) / 1000;
    const outputs = {};
    for (const name of this.session.outputNames) outputs[name] = plain(raw[name]);
    return { outputs, runSeconds };
  }
}

// Load a bundle: its manifest, model (checked against its SHA-256) and onnxruntime-web.
// options: ortBase (URL of the onnxruntime-web files), backend ("auto" | "wasm" | "webgpu"),
// threads (WASM threads; default from the hardware when the page is cross-origin isolated),
// token (a bearer token for servers that require one).
export async function load(bundleUrl, options = {}) {
  const started = performance.now();
  const base = new URL(bundleUrl, globalThis.document ? document.baseURI : location.href);
  const manifest = await fetchOk(new URL("manifest.json", base), "json", options.token);
  if (manifest.format !== "augur-edge/1") throw new Error(`unknown bundle format ${manifest.format}`);
  const bytes = await fetchOk(new URL(manifest.model_file, base), undefined, options.token);
  const expected = manifest.checksums[manifest.model_file];
  const digest = await sha256(bytes);
  if (expected && digest !== null && digest !== expected.sha256) {
    throw new Error(`${manifest.model_file} does not match its checksum (damaged download)`);
  }
  const runtime = manifest.runtime || {};
  const ortBase = new URL(options.ortBase || runtime.base || "ort/", base);
  const backend = await chooseBackend(options.backend || "auto", runtime.backends || ["wasm"],
                                      runtime.prefer || "wasm");
  const ort = await import(new URL(RUNTIME_ENTRY[backend], ortBase).href);
  ort.env.wasm.wasmPaths = ortBase.href;
  const isolated = globalThis.crossOriginIsolated === true;
  const cores = (globalThis.navigator && navigator.hardwareConcurrency) || 1;
  ort.env.wasm.numThreads = isolated ? (options.threads || Math.min(4, cores)) : 1;
  const session = await ort.InferenceSession.create(new Uint8Array(bytes), {
    executionProviders: backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"],
    graphOptimizationLevel: "all",
  });
  const info = {
    backend, threads: ort.env.wasm.numThreads, crossOriginIsolated: isolated,
    verified: digest !== null, bytes: bytes.byteLength, modelUrl: new URL(manifest.model_file, base).href,
    loadSeconds: (performance.now() - started) / 1000,
  };
  return new EdgeModel(manifest, session, ort, info);
}

let bundled = null;

// Predict with the bundle this module belongs to (the folder holding it and
// manifest.json), loaded on the first call.
export async function predict(records, options = {}) {
  if (bundled === null) {
    bundled = load(new URL("./", import.meta.url), options);
    bundled.catch(() => { bundled = null; });  // let a later call retry
  }
  return (await bundled).predict(records);
}

function splitCSVLine(line) {
  const cells = [];
  let cell = "", quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { cells.push(cell); cell = ""; }
    else cell += ch;
  }
  cells.push(cell);
  return cells;
}

// Records from CSV text with a header row, typed by the manifest's column kinds.
// Empty cells are missing values; a non-number in a numeric column is an error.
export function parseCSV(manifest, text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (!lines.length) throw new EdgeInputError("the CSV is empty");
  const header = splitCSVLine(lines[0]).map((h) => h.trim());
  const kinds = Object.fromEntries(manifest.columns.map((c) => [c.name, c.kind]));
  const missing = manifest.columns.map((c) => c.name).filter((n) => !header.includes(n));
  if (missing.length) throw new EdgeInputError(`the CSV lacks column(s) ${missing.join(", ")}`);
  return lines.slice(1).map((line, row) => {
    const cells = splitCSVLine(line);
    if (cells.length !== header.length) {
      throw new EdgeInputError(`CSV row ${row + 1} has ${cells.length} cells, the header has ${header.length}`);
    }
    const record = {};
    header.forEach((name, j) => { record[name] = parseCell(kinds[name], name, cells[j], row + 1); });
    return record;
  });
}

export function parseCell(kind, name, text, row) {
  if (kind === undefined || kind === "string") return kind && text === "" ? null : text;
  const t = text.trim();
  if (t === "") return null;
  if (kind === "bool" && /^(true|false)$/i.test(t)) return t.toLowerCase() === "true";
  const v = Number(t);
  if (Number.isNaN(v) && t.toLowerCase() !== "nan") {
    throw new EdgeInputError(`column '${name}': ${JSON.stringify(text)} is not a number (row ${row})`);
  }
  return v;
}
