// Edge: every model's in-browser page (onnxruntime-web, served by this server), linked.
import { api, enc } from "/console/static/api.mjs";
import { errorBox, h, num, table } from "/console/static/ui.mjs";

export async function render(view, ctx) {
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  view.append(h("h1", {}, "Edge"),
    h("p", {}, "Each model runs in this browser with onnxruntime-web (WASM), from files this server serves; once loaded a page needs no server. ",
      h("a", { href: "/edge" }, "The edge index"), " lists the same pages."));
  let doc;
  try {
    doc = await api.get(`/console/api/models?page=${page}&per_page=100`);
  } catch (err) {
    view.append(errorBox(err));
    return;
  }
  view.append(table([
    { label: "Model", value: (m) => h("a", { href: `/edge/${enc(m.name)}` }, `${m.name} in the browser`) },
    { label: "Version it runs", value: (m) => (m.aliases.production ? `${m.name}@production (${m.aliases.production})` : `latest (${m.latest})`) },
    { label: "Versions", num: true, value: (m) => num(m.versions) },
  ], doc.models.filter((m) => m.latest !== null), { empty: "No model is registered yet." }),
  doc.pages > 1 ? h("nav", { class: "pager", "aria-label": "Pages of models" },
    page > 1 ? h("a", { href: `#/edge?page=${page - 1}` }, "← Previous") : null,
    h("span", {}, `Page ${page} of ${doc.pages}`),
    page < doc.pages ? h("a", { href: `#/edge?page=${page + 1}` }, "Next →") : null) : null);
}
