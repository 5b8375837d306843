// Models: the searched, paginated listing; one model's versions, lineage, signature,
// parity, compression and tuning reports, aliases with their history; and its actions.
import { api, enc } from "/console/static/api.mjs";
import { act, bytes, clear, errorBox, facts, h, num, section, table, when } from "/console/static/ui.mjs";

const PER_PAGE = 25;
const SERVER_ONLY = "Needs a running model server: this console was started with 'augur ui'. Start 'augur serve' to load, unload, or route canary and shadow traffic.";

export async function render(view, ctx) {
  if (ctx.args.length) return renderModel(view, ctx, ctx.args[0]);
  return renderList(view, ctx);
}

async function renderList(view, ctx) {
  const q = ctx.query.get("q") || "";
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const input = h("input", { id: "model-search", type: "search", name: "q", value: q, autocomplete: "off" });
  const form = h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    ctx.navigate(`#/models?q=${enc(input.value.trim())}&page=1`);
  } }, h("label", { for: "model-search" }, "Search models"), input, h("button", { type: "submit" }, "Search"));
  const results = h("div", { id: "model-results" });
  view.append(h("h1", {}, "Models"), form, results);
  let doc;
  try {
    doc = await api.get(`/console/api/models?q=${enc(q)}&page=${page}&per_page=${PER_PAGE}`);
  } catch (err) {
    results.append(errorBox(err));
    return;
  }
  const go = (p) => ctx.navigate(`#/models?q=${enc(q)}&page=${p}`);
  results.append(
    h("p", { class: "muted", id: "model-count" }, `${num(doc.total)} model${doc.total === 1 ? "" : "s"}${q ? ` matching “${q}”` : ""}; page ${doc.page} of ${doc.pages}`),
    table([
      { label: "Model", value: (m) => h("a", { href: `#/models/${enc(m.name)}` }, m.name) },
      { label: "Latest", num: true, value: (m) => m.latest },
      { label: "Versions", num: true, value: (m) => m.versions },
      { label: "Aliases", value: (m) => Object.entries(m.aliases).map(([a, v]) => `${a} → ${v}`).join(", ") || "–" },
      { label: "Description", value: (m) => m.description || "–" },
      { label: "Registered", value: (m) => when(m.created_at) },
    ], doc.models, { caption: "Registered models", empty: q ? "No model matches." : "No model is registered yet." }),
    h("nav", { class: "pager", "aria-label": "Pages of models" },
      h("button", { type: "button", disabled: doc.page <= 1, onclick: () => go(doc.page - 1) }, "← Previous"),
      h("span", {}, `Page ${doc.page} of ${doc.pages}`),
      h("button", { type: "button", disabled: doc.page >= doc.pages, onclick: () => go(doc.page + 1) }, "Next →")));
}

let barChart = null;

async function renderModel(view, ctx, name) {
  let doc;
  try {
    // Charts (uPlot) are not needed by the listing, so they load here.
    [{ barChart }, ctx.info, doc] = await Promise.all([import("/console/static/charts.mjs"),
      ctx.session(), api.get(`/console/api/models/${enc(name)}`)]);
  } catch (err) {
    view.append(h("h1", {}, name), errorBox(err));
    return;
  }
  const reload = () => ctx.navigate(`#/models/${enc(name)}`);
  const numbers = doc.versions.map((v) => v.version);
  view.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/models" }, "Models"), " / ", name),
    h("h1", {}, name),
    doc.description ? h("p", {}, doc.description) : null,
    aliasSection(ctx, name, doc, numbers, reload),
    servingSection(ctx, name, numbers, reload),
    section("Versions", doc.versions.map((v, i) => versionBlock(ctx, name, v, i === 0))));
}

function versionSelect(id, numbers, selected) {
  return h("select", { id, name: id }, numbers.map((n) => h("option", { value: n, selected: n === selected }, `version ${n}`)));
}

function aliasSection(ctx, name, doc, numbers, reload) {
  const served = ctx.info.served;
  // Under 'augur serve' alias moves go through the server, which loads and warms the
  // version before it takes traffic; under 'augur ui' they are registry operations.
  const base = served ? `/v2/admin/models/${enc(name)}/aliases` : `/console/api/models/${enc(name)}/aliases`;
  const rows = Object.entries(doc.aliases).map(([alias, a]) => ({ alias, ...a }));
  const aliasInput = h("input", { id: "alias-name", name: "alias", value: rows[0] ? rows[0].alias : "production", autocomplete: "off", required: true });
  const select = versionSelect("alias-version", numbers, numbers[0]);
  const force = h("input", { id: "alias-force", name: "force", type: "checkbox" });
  const form = h("form", { class: "inline", id: "move-alias", onsubmit: async (e) => {
    e.preventDefault();
    const alias = aliasInput.value.trim();
    const version = Number(select.value);
    const done = await act(`Point ${name}@${alias} at version ${version}?`, "Move alias",
      () => api.post(`${base}/${enc(alias)}`, { version, force: force.checked }),
      (r) => `Moved ${name}@${alias} to version ${r.version}${r.previous ? ` (was ${r.previous})` : ""}.`);
    if (done) reload();
  } }, h("label", { for: "alias-name" }, "Alias"), aliasInput, h("label", { for: "alias-version" }, "to"), select,
  h("span", { class: "check" }, force, h("label", { for: "alias-force" }, "even if the signature changes")),
  h("button", { type: "submit", class: "primary" }, "Move alias…"));
  const rollback = (alias) => async () => {
    const done = await act(`Roll ${name}@${alias} back to the version it pointed at before its last move?`, "Roll back",
      () => api.post(`${base}/${enc(alias)}/rollback`),
      (r) => `Rolled ${name}@${alias} back to version ${r.version}.`);
    if (done) reload();
  };
  return section("Aliases",
    table([
      { label: "Alias", value: (r) => h("code", {}, `${name}@${r.alias}`) },
      { label: "Version", num: true, value: (r) => r.version },
      { label: "History", value: (r) => h("ol", { class: "history" }, r.history.slice().reverse().map((m) =>
        h("li", {}, m.version === null ? "removed" : `→ ${m.version}`, m.previous ? ` (from ${m.previous}) ` : " ", when(m.moved_at)))) },
      { label: "", value: (r) => h("button", { type: "button", onclick: rollback(r.alias), "aria-label": `Roll back ${r.alias}` }, "Roll back…") },
    ], rows, { empty: "No alias yet: a bare name means the latest version." }),
    form);
}

function servingSection(ctx, name, numbers, reload) {
  const box = section("Serving");
  if (!ctx.info.served) {
    box.append(
      h("p", { class: "reason", id: "serving-reason" }, SERVER_ONLY),
      h("div", { class: "buttons" },
        h("button", { type: "button", disabled: true, "aria-describedby": "serving-reason" }, "Load…"),
        h("button", { type: "button", disabled: true, "aria-describedby": "serving-reason" }, "Unload…"),
        h("button", { type: "button", disabled: true, "aria-describedby": "serving-reason" }, "Set canary and shadow…")));
    return box;
  }
  const state = h("div", { id: "serving-state" }, h("p", { class: "muted" }, "Loading…"));
  box.append(state);
  fillServing(state, ctx, name, numbers, reload);
  return box;
}

async function fillServing(state, ctx, name, numbers, reload) {
  let admin;
  let traffic;
  try {
    [admin, traffic] = await Promise.all([api.get("/v2/admin/models"), api.get(`/v2/admin/models/${enc(name)}/traffic`)]);
  } catch (err) {
    clear(state, errorBox(err));
    return;
  }
  const loaded = admin.loaded.filter((e) => e.name === name);
  const loadSelect = versionSelect("load-version", numbers, numbers[0]);
  const load = async () => {
    const ref = `${name}:${loadSelect.value}`;
    const done = await act(`Load ${ref} into the server's memory (and warm it)?`, "Load",
      () => api.post(`/v2/repository/models/${enc(ref)}/load`), () => `Loaded ${ref}.`);
    if (done) reload();
  };
  const unload = async () => {
    const done = await act(`Unload every version of ${name} from memory? Requests will load it again.`, "Unload",
      () => api.post(`/v2/repository/models/${enc(name)}/unload`), () => `Unloaded ${name}.`);
    if (done) reload();
  };
  const canary = h("select", { id: "canary-version", name: "canary" }, h("option", { value: "" }, "none"),
    numbers.map((n) => h("option", { value: n, selected: traffic.canary === `${name}:${n}` }, `version ${n}`)));
  const percent = h("input", { id: "canary-percent", name: "canary_percent", type: "number", min: 0, max: 100, step: "any", value: traffic.canary_percent || 0 });
  const shadow = h("select", { id: "shadow-version", name: "shadow" }, h("option", { value: "" }, "none"),
    numbers.map((n) => h("option", { value: n, selected: traffic.shadow === `${name}:${n}` }, `version ${n}`)));
  const trafficForm = h("form", { id: "traffic-form", class: "grid-form", onsubmit: async (e) => {
    e.preventDefault();
    const body = { canary: canary.value ? `${name}:${canary.value}` : null, canary_percent: Number(percent.value) || 0,
      shadow: shadow.value ? `${name}:${shadow.value}` : null };
    const text = `canary ${body.canary || "none"} at ${body.canary_percent} %, shadow ${body.shadow || "none"}`;
    const done = await act(`Route ${name}'s traffic: ${text}?`, "Apply",
      () => api.put(`/v2/admin/models/${enc(name)}/traffic`, body),
      (r) => `${name}: canary ${r.canary || "none"} at ${r.canary_percent} %, shadow ${r.shadow || "none"}.`);
    if (done) reload();
  } },
  h("label", { for: "canary-version" }, "Canary"), canary,
  h("label", { for: "canary-percent" }, "Canary share (%)"), percent,
  h("label", { for: "shadow-version" }, "Shadow"), shadow,
  h("span", {}), h("button", { type: "submit", class: "primary" }, "Apply traffic…"));
  const sc = traffic.shadow_comparisons || {};
  const split = traffic.requests ? `${num(traffic.canary_requests)} of ${num(traffic.requests)} requests went to the canary. ` : "";
  const agreed = sc.agreement === null || sc.agreement === undefined ? "" :
    `The shadow agreed on ${num(100 * sc.agreement)} % of ${num(sc.agree + sc.disagree)} comparisons (${num(sc.errors)} errors, ${num(sc.dropped)} dropped).`;
  clear(state,
    table([
      { label: "Loaded version", value: (e) => `${e.name}:${e.version}` },
      { label: "Memory charged", num: true, value: (e) => bytes(e.charged_bytes) },
      { label: "Load time", num: true, value: (e) => `${num(e.load_seconds)} s` },
      { label: "Queued", num: true, value: (e) => e.pending },
    ], loaded, { empty: `${name} is not in memory; it loads on its first request.` }),
    h("div", { class: "inline" }, h("label", { for: "load-version" }, "Version"), loadSelect,
      h("button", { type: "button", onclick: load }, "Load…"),
      h("button", { type: "button", onclick: unload, disabled: !loaded.length }, "Unload…")),
    h("h3", {}, "Canary and shadow"),
    split || agreed ? h("p", { id: "traffic-state" }, split, agreed) : null,
    trafficForm);
}

function signatureTable(sig) {
  const rows = [...(sig.inputs || []).map((t) => ({ io: "input", ...t })), ...(sig.outputs || []).map((t) => ({ io: "output", ...t }))];
  return table([
    { label: "", value: (t) => t.io },
    { label: "Name", value: (t) => h("code", {}, t.name) },
    { label: "Type", value: (t) => t.datatype || t.dtype || t.kind || "–" },
    { label: "Shape", value: (t) => (t.shape ? `[${t.shape.map((d) => (d === null || d < 0 ? "n" : d)).join(", ")}]` : "–") },
  ], rows, { empty: "No signature recorded." });
}

function columnsTable(sig) {
  if (!sig.columns || !sig.columns.length) return null;
  return table([
    { label: "Column", value: (c) => h("code", {}, c.name) },
    { label: "Kind", value: (c) => c.kind },
    { label: "Tensor", value: (c) => c.tensor + (c.index === null || c.index === undefined ? "" : `[${c.index}]`) },
    { label: "Nullable", value: (c) => (c.nullable ? "yes" : "no") },
  ], sig.columns, { caption: "Record columns" });
}

function parityFacts(parity) {
  if (!parity) return h("p", { class: "muted" }, "No parity check recorded (registered from an .onnx file).");
  return facts(Object.entries(parity).map(([k, v]) => [k.replaceAll("_", " "), typeof v === "object" && v !== null ? JSON.stringify(v) : num(v, 4)]));
}

function compressionCharts(v, report) {
  const p = report.original || {};
  const c = report.compressed || {};
  const label = report.method || v.method || "compressed";
  // Agreement, similarity and drop are shares (0..1) and share one axis; counts do not.
  const quality = Object.entries(report.quality || {}).filter(([k, x]) => typeof x === "number" && k !== "rows" && x >= 0 && x <= 1);
  return h("div", { class: "charts" },
    barChart(`Size (MB): parent ${report.parent} and ${label}`, ["parent", label], [{ label: "size", values: [p.size_bytes / 1e6, c.size_bytes / 1e6] }], { unit: " MB" }),
    barChart("Latency (ms per row, p50 and p99)", ["p50", "p99"], [
      { label: "parent", values: [p.latency_p50_ms, p.latency_p99_ms] },
      { label, values: [c.latency_p50_ms, c.latency_p99_ms] }], { unit: " ms" }),
    barChart("Throughput (rows/s at batch 64)", ["parent", label], [{ label: "rows/s", values: [p.throughput_rows_s, c.throughput_rows_s] }]),
    quality.length ? barChart(`Quality against the parent (${num((report.quality || {}).rows)} rows)`, quality.map(([k]) => k.replaceAll("_", " ")), [{ label: "quality", values: quality.map(([, x]) => x) }]) : null);
}

function tuningTable(results) {
  return table([
    { label: "Hardware", value: (t) => t.hardware },
    { label: "ONNX Runtime", value: (t) => t.runtime_version },
    { label: "Objective", value: (t) => t.report.objective || "–" },
    { label: "Speed-up", num: true, value: (t) => (t.report.speedup ? `${num(t.report.speedup)}×` : "–") },
    { label: "Options", value: (t) => h("code", {}, Object.entries(t.options).filter(([, x]) => x !== null).map(([k, x]) => `${k}=${x}`).join(" ")) },
    { label: "Tuned", value: (t) => when(t.created_at) },
  ], results, { empty: "Not tuned on any hardware yet (augur tune)." });
}

function versionBlock(ctx, name, v, open) {
  const derived = v.parent ? [h("a", { href: `#/models/${enc(v.parent.split(":")[0])}` }, v.parent), v.method ? ` (${v.method})` : ""] : null;
  const tuning = v.tuning || [];
  return h("details", { class: "version", open, id: `v${v.version}` },
    h("summary", {}, h("strong", {}, v.ref), ` · ${v.framework} · ${bytes(v.size)}`, v.method ? ` · ${v.method}` : ""),
    facts([
      ["Registered", when(v.created_at)],
      ["Artifact", h("code", { class: "hash" }, v.artifact.slice(0, 16))],
      ["Derived from", derived],
      ["Derived versions", v.children.length ? v.children.map((c, i) => [i ? ", " : "", h("a", { href: `#v${c.split(":")[1]}` }, c)]) : null],
      ["Tags", Object.keys(v.tags).length ? Object.entries(v.tags).map(([k, x]) => `${k}=${x}`).join(", ") : null],
    ]),
    h("h3", {}, "Signature"), signatureTable(v.signature), columnsTable(v.signature),
    v.signature.task ? h("p", {}, `Task: ${v.signature.task}${v.signature.classes && v.signature.classes.length ? `; classes ${v.signature.classes.join(", ")}` : ""}`) : null,
    h("h3", {}, "Parity with the original framework"), parityFacts(v.parity),
    v.report ? [h("h3", {}, "Compression report"), compressionCharts(v, v.report)] : null,
    h("h3", {}, "Tuning"), tuningTable(tuning),
    h("p", {}, h("a", { href: `/edge/${enc(v.ref)}` }, `Run ${v.ref} in this browser`)));
}
