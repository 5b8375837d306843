// Traffic: per model version, live from the server's own /metrics (scraped every 2 s):
// request rate, p50/p99 latency, errors, queue depth, batch sizes, canary share and
// shadow agreement, as charts and as a table of the latest values.
import { api } from "/console/static/api.mjs";
import { lineChart } from "/console/static/charts.mjs";
import { buckets, parse, quantile, sumBy } from "/console/static/prom.mjs";
import { clear, errorBox, h, num, table } from "/console/static/ui.mjs";

const EVERY_MS = 2000;
const KEEP = 90;
const byVersion = (l) => `${l.model}:${l.version}`;

export async function render(view, ctx) {
  view.append(h("h1", {}, "Traffic"));
  const info = await ctx.session();
  if (!info.served) {
    view.append(h("p", { class: "reason" }, "Live traffic needs a running model server: this console was started with 'augur ui'. 'augur serve' serves the same console with this page filled from its /metrics."));
    return;
  }
  const status = h("p", { class: "muted", id: "traffic-status", "aria-live": "polite" }, "Reading /metrics…");
  const charts = {
    rate: lineChart("Requests per second", { unit: "/s" }),
    latency: lineChart("Latency p50 and p99 (ms, in the server)", { unit: " ms" }),
    errors: lineChart("Errors per second", { unit: "/s" }),
    queue: lineChart("Queue depth (requests waiting)"),
    batch: lineChart("Batch size (rows per model run)"),
    canary: lineChart("Canary share (% of the model's requests)", { unit: " %" }),
    shadow: lineChart("Shadow agreement (% of comparisons)", { unit: " %" }),
  };
  const now = h("div", { id: "traffic-table" });
  view.append(status, h("div", { class: "charts" }, Object.values(charts).map((c) => c.fig)),
    h("h2", {}, "Latest"), now);

  const times = [];
  const series = {};
  let prev = null;
  const push = (chart, label, value, slot) => {
    const all = (series[chart] ||= new Map());
    if (!all.has(label)) all.set(label, new Array(slot).fill(null));
    all.get(label).push(value);
  };
  async function tick() {
    let text;
    let admin;
    try {
      [text, admin] = await Promise.all([api.text("/metrics"), api.get("/v2/admin/models")]);
    } catch (err) {
      clear(status, errorBox(err));
      return;
    }
    const t = Date.now() / 1000;
    const cur = parse(text);
    const snap = {
      t,
      req: sumBy(cur, "augur_requests_total", byVersion),
      err: sumBy(cur, "augur_request_errors_total", byVersion),
      lat: buckets(cur, "augur_request_seconds", byVersion),
      rowsSum: sumBy(cur, "augur_batch_rows_sum", byVersion),
      rowsCount: sumBy(cur, "augur_batch_rows_count", byVersion),
      canary: sumBy(cur, "augur_canary_requests_total", (l) => l.model),
      modelReq: sumBy(cur, "augur_requests_total", (l) => l.model),
      agree: sumBy(cur, "augur_shadow_comparisons_total", (l) => l.model, (l) => l.outcome === "agree"),
      disagree: sumBy(cur, "augur_shadow_comparisons_total", (l) => l.model, (l) => l.outcome === "disagree"),
    };
    status.textContent = `Updated ${new Date(t * 1000).toLocaleTimeString("en-GB")} from /metrics; ${admin.loaded.length} version(s) in memory.`;
    if (!prev) { prev = snap; return; }
    const dt = Math.max(1e-3, t - prev.t);
    const slot = times.length;
    times.push(t);
    const rows = [];
    const keys = new Set([...snap.req.keys(), ...admin.loaded.map((e) => `${e.name}:${e.version}`)]);
    for (const k of [...keys].sort()) {
      const d = (m) => (snap[m].get(k) || 0) - (prev[m].get(k) || 0);
      const rate = d("req") / dt;
      const p50 = quantile(0.5, snap.lat.get(k), prev.lat.get(k));
      const p99 = quantile(0.99, snap.lat.get(k), prev.lat.get(k));
      const errs = d("err") / dt;
      const runs = d("rowsCount");
      const batch = runs > 0 ? d("rowsSum") / runs : null;
      const entry = admin.loaded.find((e) => `${e.name}:${e.version}` === k);
      const queue = entry ? entry.pending : null;
      push("rate", k, rate, slot);
      push("latency", `${k} p50`, p50 === null ? null : p50 * 1000, slot);
      push("latency", `${k} p99`, p99 === null ? null : p99 * 1000, slot);
      push("errors", k, errs, slot);
      push("queue", k, queue, slot);
      push("batch", k, batch, slot);
      rows.push({ k, rate, p50, p99, errs, queue, batch, total: snap.req.get(k) || 0 });
    }
    const models = new Set([...snap.modelReq.keys()]);
    const shares = [];
    for (const m of [...models].sort()) {
      const dReq = (snap.modelReq.get(m) || 0) - (prev.modelReq.get(m) || 0);
      const dCanary = (snap.canary.get(m) || 0) - (prev.canary.get(m) || 0);
      const agree = snap.agree.get(m) || 0;
      const compared = agree + (snap.disagree.get(m) || 0);
      if (snap.canary.has(m)) push("canary", m, dReq > 0 ? (100 * dCanary) / dReq : null, slot);
      if (compared) push("shadow", m, (100 * agree) / compared, slot);
      shares.push({ m, canary: snap.canary.get(m) || 0, requests: snap.modelReq.get(m) || 0, agree, compared });
    }
    for (const all of Object.values(series)) for (const values of all.values()) while (values.length < times.length) values.push(null);
    if (times.length > KEEP) {
      times.shift();
      for (const all of Object.values(series)) for (const values of all.values()) values.shift();
    }
    for (const [name, chart] of Object.entries(charts)) {
      const all = series[name] || new Map();
      chart.update(times.slice(), [...all.entries()].map(([label, values]) => ({ label, values: values.slice() })));
    }
    clear(now,
      table([
        { label: "Version", value: (r) => r.k },
        { label: "Requests", num: true, value: (r) => num(r.total) },
        { label: "Req/s", num: true, value: (r) => num(r.rate) },
        { label: "p50 ms", num: true, value: (r) => (r.p50 === null ? "–" : num(r.p50 * 1000)) },
        { label: "p99 ms", num: true, value: (r) => (r.p99 === null ? "–" : num(r.p99 * 1000)) },
        { label: "Errors/s", num: true, value: (r) => num(r.errs) },
        { label: "Queued", num: true, value: (r) => r.queue },
        { label: "Rows/run", num: true, value: (r) => (r.batch === null ? "–" : num(r.batch)) },
      ], rows, { caption: "Per model version, over the last 2 seconds", empty: "No requests yet." }),
      table([
        { label: "Model", value: (r) => r.m },
        { label: "Canary requests", num: true, value: (r) => `${num(r.canary)} of ${num(r.requests)}` },
        { label: "Shadow agreement", num: true, value: (r) => (r.compared ? `${num((100 * r.agree) / r.compared)} % of ${num(r.compared)}` : "–") },
      ], shares, { caption: "Canary and shadow, since the server started", empty: "" }));
    prev = snap;
  }
  await tick();
  const first = setTimeout(tick, 1000); // a first rate without waiting a whole period
  const timer = setInterval(tick, EVERY_MS);
  ctx.onLeave(() => { clearTimeout(first); clearInterval(timer); });
}
