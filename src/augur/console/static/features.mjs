// Features: the views of the definitions files the server binds models to, and how fresh
// each stream view's online values are (from its worker's checkpoint in the online store).
import { api } from "/console/static/api.mjs";
import { parse, sumBy } from "/console/static/prom.mjs";
import { barChart } from "/console/static/charts.mjs";
import { duration, errorBox, h, num, section, table, when } from "/console/static/ui.mjs";

export async function render(view) {
  view.append(h("h1", {}, "Features"));
  let doc;
  try {
    doc = await api.get("/console/api/features");
  } catch (err) {
    view.append(errorBox(err));
    return;
  }
  // hit rates of the online store, counted by the server as it assembles requests
  let lookups = null;
  try {
    const samples = parse(await api.text("/metrics"));
    lookups = sumBy(samples, "augur_feature_lookups_total", (l) => `${l.view}\u0000${l.result}`);
  } catch (_) {
    lookups = null; // augur ui serves no models, so it counts no lookups
  }
  const hitRate = (name) => {
    if (!lookups) return "not served here";
    const hits = lookups.get(`${name}\u0000hit`) || 0;
    const misses = lookups.get(`${name}\u0000miss`) || 0;
    return hits + misses ? `${(100 * hits / (hits + misses)).toFixed(1)} % of ${num(hits + misses)}` : "no lookups yet";
  };
  if (!doc.sources.length) {
    view.append(h("p", { class: "muted", id: "no-features" },
      "No model is bound to feature views here. Bind one with 'features' and 'feature_store' in the server's settings ([models.NAME]), or start 'augur ui --features defs.py --feature-store URL'."));
    return;
  }
  for (const src of doc.sources) {
    const streams = src.views.filter((v) => v.freshness && v.freshness.lag_s !== null);
    view.append(section(`${src.definitions}${src.models.length ? ` (${src.models.join(", ")})` : ""}`,
      h("p", {}, "Online store: ", h("code", {}, src.store || "none")),
      src.error ? h("p", { class: "msg error" }, src.error) : null,
      table([
        { label: "View", value: (v) => h("strong", {}, v.name) },
        { label: "Kind", value: (v) => v.kind },
        { label: "Entity key", value: (v) => h("code", {}, v.entity) },
        { label: "Features", value: (v) => v.features.map((f) => `${f.name} (${f.function}${f.column && f.function !== "column" ? ` of ${f.column}` : ""})`).join(", ") },
        { label: "TTL", value: (v) => (v.ttl_s ? duration(v.ttl_s) : "none") },
        { label: "Latest event", value: (v) => (v.freshness && v.freshness.event_time ? when(v.freshness.event_time) : "–") },
        { label: "Lag", num: true, value: (v) => (v.freshness && v.freshness.lag_s !== null ? duration(v.freshness.lag_s) : "–") },
        { label: "Events (accepted / late / invalid)", num: true, value: (v) => (v.freshness ? `${num(v.freshness.events.accepted)} / ${num(v.freshness.events.late)} / ${num(v.freshness.events.invalid)}` : "no checkpoint") },
        { label: "Stream position", value: (v) => (v.freshness ? h("code", {}, v.freshness.position || "–") : "–") },
        { label: "Online-store hits", num: true, value: (v) => hitRate(v.name) },
      ], src.views, { caption: "Feature views", empty: "The definitions hold no view." }),
      streams.length ? barChart("Stream lag per view (seconds behind now)", streams.map((v) => v.name),
        [{ label: "lag", values: streams.map((v) => v.freshness.lag_s) }], { unit: " s" }) : null,
      h("p", { class: "muted" }, "Online-store hits: the share of entity keys the server found a value for when it assembled requests (augur_feature_lookups_total).")));
  }
}
