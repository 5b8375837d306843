// The augur edge page: loads a bundle once, then predicts in the browser from a form
// generated from the model's columns, or from pasted CSV, and shows the latency.
// window.augurEdge exposes the loaded model to scripts (and to augur's parity check).

import { load, parseCSV, parseCell } from "./augur-edge.mjs";

const config = JSON.parse(document.getElementById("augur-edge-config").textContent);
const $ = (id) => document.getElementById(id);

function setStatus(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function ms(seconds) {
  return seconds < 0.01 ? `${(seconds * 1000).toFixed(3)} ms` : `${(seconds * 1000).toFixed(1)} ms`;
}

function format(v) {
  if (Array.isArray(v)) return v.map(format).join(", ");
  if (typeof v === "number" && !Number.isInteger(v)) return v.toPrecision(6);
  return String(v);
}

function buildForm(manifest) {
  const form = $("record-form");
  for (const col of manifest.columns) {
    const label = document.createElement("label");
    label.textContent = `${col.name} (${col.kind}${col.nullable ? ", optional" : ""})`;
    label.htmlFor = `col-${col.name}`;
    let input;
    if (col.kind === "bool") {
      input = document.createElement("select");
      for (const v of ["true", "false"]) input.add(new Option(v, v));
    } else {
      input = document.createElement("input");
      input.type = col.kind === "string" ? "text" : "number";
      if (col.kind !== "string") input.step = "any";
    }
    input.id = `col-${col.name}`;
    input.name = col.name;
    form.append(label, input);
  }
}

function readForm(manifest) {
  const record = {};
  for (const col of manifest.columns) {
    record[col.name] = parseCell(col.kind, col.name, $(`col-${col.name}`).value, 1);
  }
  return record;
}

function table(rows, limit) {
  const el = document.createElement("table");
  const names = Object.keys(rows[0] || {});
  const head = el.createTHead().insertRow();
  for (const name of ["#", ...names]) head.append(Object.assign(document.createElement("th"), { textContent: name }));
  const body = el.createTBody();
  rows.slice(0, limit).forEach((row, i) => {
    const tr = body.insertRow();
    tr.insertCell().textContent = String(i + 1);
    for (const name of names) tr.insertCell().textContent = format(row[name]);
  });
  return el;
}

function show(target, result, n) {
  const box = $(target);
  box.replaceChildren();
  const latency = document.createElement("p");
  latency.className = "latency";
  const perRow = n > 1 ? `, ${ms(result.seconds / n)} per row, ${Math.round(n / result.seconds)} rows/s` : "";
  latency.textContent = `in-browser latency: ${ms(result.seconds)} for ${n} row(s) (model run ${ms(result.runSeconds)})${perRow}`;
  latency.dataset.seconds = String(result.seconds);
  box.append(latency, table(result.rows, 200));
  if (n > 200) box.append(Object.assign(document.createElement("p"), { textContent: `first 200 of ${n} rows shown` }));
}

function fail(target, error) {
  const p = Object.assign(document.createElement("p"), { className: "error", textContent: String(error.message || error) });
  $(target).replaceChildren(p);
}

async function main() {
  // ?backend=wasm|webgpu and ?threads=N override the defaults, e.g. to compare backends.
  const query = new URLSearchParams(location.search);
  const threads = Number.parseInt(query.get("threads") || "", 10);
  const model = await load(config.bundle, {
    ortBase: config.ortBase,
    backend: query.get("backend") || config.backend || "auto",
    threads: Number.isInteger(threads) && threads > 0 ? threads : undefined,
    // the console keeps the signed-in token here; servers without tokens ignore it
    token: sessionStorage.getItem("augur.token") || undefined,
  });
  const m = model.manifest;
  window.augurEdge.model = model;
  const tensorsOnly = m.columns.length === 0;
  if (tensorsOnly) {
    // No record columns: the model takes tensors, pasted as JSON.
    $("record-form").closest("section").hidden = true;
    $("csv-title").textContent = "Tensors (JSON)";
    $("csv-help").textContent = "Paste an object of input name -> nested array.";
    $("predict-csv").textContent = "Predict JSON";
    $("csv").placeholder = JSON.stringify(Object.fromEntries(
      m.inputs.map((s) => [s.name, `nested array, shape [${s.shape.join(", ")}]`])));
  } else {
    buildForm(m);
    $("csv").placeholder = m.columns.map((c) => c.name).join(",");
  }
  $("model-info").textContent = JSON.stringify({
    model: m.model.ref, task: m.task, columns: m.columns.map((c) => `${c.name}: ${c.kind}`),
    outputs: m.outputs.map((o) => `${o.name}: ${o.datatype} [${o.shape.join(", ")}]`),
    classes: m.classes.length ? m.classes : undefined, quantized: Boolean(m.quantization),
    onnxruntimeWeb: (m.runtime || {}).version, backend: model.info.backend, threads: model.info.threads,
    crossOriginIsolated: model.info.crossOriginIsolated, checksumVerified: model.info.verified,
  }, null, 2);
  $("predict-one").disabled = false;
  $("predict-csv").disabled = false;
  $("predict-one").addEventListener("click", async () => {
    try { show("one-result", await model.predict([readForm(m)]), 1); } catch (e) { fail("one-result", e); }
  });
  $("predict-csv").addEventListener("click", async () => {
    try {
      if (tensorsOnly) {
        const result = await model.predictTensors(JSON.parse($("csv").value));
        show("csv-result", result, result.rows.length);
      } else {
        const records = parseCSV(m, $("csv").value);
        show("csv-result", await model.predict(records), records.length);
      }
    } catch (e) { fail("csv-result", e); }
  });
  setStatus(`Loaded ${m.model.ref} in ${ms(model.info.loadSeconds)} (${model.info.backend}, ` +
            `${model.info.threads} thread(s)); predictions run offline from here on.`, "ready");
  return model;
}

window.augurEdge = {
  config,
  predict: async (records) => (await window.augurEdge.ready).predict(records),
  predictTensors: async (arrays) => (await window.augurEdge.ready).predictTensors(arrays),
  parseCSV: async (text) => parseCSV((await window.augurEdge.ready).manifest, text),
};
window.augurEdge.ready = main().catch((error) => {
  setStatus(`Could not load the model: ${error.message || error}`, "error");
  throw error;
});
