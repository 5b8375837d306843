// Batch: runs with their progress and row counts, one run's failed rows with the reasons,
// schedules with their next run; start a run, resume a stopped one (admin token).
import { api, enc } from "/console/static/api.mjs";
import { act, ago, clear, duration, errorBox, facts, h, num, section, table, when } from "/console/static/ui.mjs";

const REFRESH_MS = 1500;

function progress(r) {
  const done = r.rows_out + r.rows_failed;
  const label = `${num(done)} of ${num(r.rows_in)} rows`;
  if (r.status === "running") return h("span", {}, h("progress", { "aria-label": `run ${r.id}: ${label}` }), " ", label);
  return h("progress", { max: Math.max(1, r.rows_in), value: done, "aria-label": `run ${r.id}: ${label}` });
}

function status(r) {
  return h("span", { class: `status ${r.status}` }, r.status);
}

export async function render(view, ctx) {
  if (ctx.args.length) return renderRun(view, ctx, ctx.args[0]);
  view.append(h("h1", {}, "Batch"));
  const runsBox = h("div", { id: "runs" }, h("p", { class: "muted" }, "Loading…"));
  const schedulesBox = h("div", { id: "schedules" });
  view.append(section("Runs", runsBox), startForm(ctx), section("Schedules", schedulesBox));
  let timer = null;
  async function refresh() {
    let runs;
    try {
      runs = (await api.get("/console/api/batch/runs")).runs;
    } catch (err) {
      clear(runsBox, errorBox(err));
      return;
    }
    clear(runsBox, table([
      { label: "Run", value: (r) => h("a", { href: `#/batch/${enc(r.id)}` }, h("code", {}, r.id)) },
      { label: "Model", value: (r) => `${r.model}:${r.version}` },
      { label: "Status", value: status },
      { label: "Progress", value: progress },
      { label: "Rows in", num: true, value: (r) => num(r.rows_in) },
      { label: "Predicted", num: true, value: (r) => num(r.rows_out) },
      { label: "Failed", num: true, value: (r) => num(r.rows_failed) },
      { label: "Started", value: (r) => when(r.started_at) },
      { label: "Took", num: true, value: (r) => duration(r.stats.duration_s) },
    ], runs, { caption: "Most recent first", empty: "No batch run yet." }));
    if (runs.some((r) => r.status === "running") && !timer) timer = setTimeout(() => { timer = null; refresh(); }, REFRESH_MS);
  }
  ctx.onLeave(() => clearTimeout(timer));
  await Promise.all([refresh(), fillSchedules(schedulesBox)]);
}

async function fillSchedules(box) {
  let doc;
  try {
    doc = await api.get("/console/api/batch/schedules");
  } catch (err) {
    clear(box, errorBox(err));
    return;
  }
  clear(box, table([
    { label: "Schedule", value: (s) => h("code", {}, s.id) },
    { label: "Model", value: (s) => s.ref },
    { label: "Input", value: (s) => h("code", {}, s.input) },
    { label: "Every", value: (s) => (s.cron ? `cron ${s.cron}` : duration(s.every_s)) },
    { label: "Next run", value: (s) => when(s.next_run_at) },
    { label: "Last run", value: (s) => (s.last_run_id ? h("a", { href: `#/batch/${enc(s.last_run_id)}` }, ago(s.last_run_at)) : "never") },
  ], doc.schedules, { empty: "No schedule (augur batch schedule MODEL --every 4h ...)." }));
}

function field(id, label, attrs = {}) {
  return [h("label", { for: id }, label), h("input", { id, name: id, autocomplete: "off", ...attrs })];
}

function startForm(ctx) {
  const form = h("form", { id: "start-run", class: "grid-form", onsubmit: async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body = { ref: data.get("ref"), input: data.get("input"), key: data.get("key") };
    if (data.get("output")) body.output = data.get("output");
    if (data.get("chunk_size")) body.chunk_size = Number(data.get("chunk_size"));
    const done = await act(`Predict ${body.input} with ${body.ref} (key column ${body.key})?`, "Start run",
      () => api.post("/console/api/batch/runs", body), (r) => `Started run ${r.run_id}.`);
    if (done) ctx.navigate(`#/batch/${enc(done.run_id)}`);
  } },
  field("ref", "Model", { required: true, placeholder: "iris@production" }),
  field("input", "Input", { required: true, placeholder: "rows.parquet, rows.csv, postgresql://...?query=..." }),
  field("key", "Key column", { required: true, placeholder: "id" }),
  field("output", "Output (optional)", { placeholder: "default: $AUGUR_HOME/predictions.db" }),
  field("chunk_size", "Rows per chunk", { type: "number", min: 1, placeholder: "50000" }),
  h("span", {}), h("button", { type: "submit", class: "primary" }, "Start run…"));
  return section("Start a run", form);
}

async function renderRun(view, ctx, id) {
  view.append(h("p", { class: "crumbs" }, h("a", { href: "#/batch" }, "Batch"), " / ", id), h("h1", {}, `Run ${id}`));
  const body = h("div", { id: "run" }, h("p", { class: "muted" }, "Loading…"));
  view.append(body);
  let timer = null;
  let waiting = 0; // polls left while a resumed run has not started yet
  ctx.onLeave(() => clearTimeout(timer));
  async function refresh() {
    clearTimeout(timer);
    let r;
    try {
      r = await api.get(`/console/api/batch/runs/${enc(id)}`);
    } catch (err) {
      clear(body, errorBox(err));
      return;
    }
    const resumable = r.status === "failed" || r.status === "killed";
    const resume = async () => {
      const done = await act(`Resume run ${id} from its last committed chunk?`, "Resume",
        () => api.post(`/console/api/batch/runs/${enc(id)}/resume`), (x) => `Resumed run ${x.run_id}.`);
      if (done) { waiting = 20; refresh(); }
    };
    clear(body,
      facts([
        ["Status", status(r)], ["Model", r.model ? `${r.model}:${r.version}` : null], ["Asked for", r.ref],
        ["Input", h("code", {}, r.input)], ["Output", h("code", {}, r.output)],
        ["Progress", progress(r)], ["Rows in", num(r.rows_in)], ["Predicted", num(r.rows_out)],
        ["Failed", num(r.rows_failed)], ["Started", when(r.started_at)],
        ["Finished", r.finished_at ? when(r.finished_at) : null], ["Took", duration(r.stats.duration_s)],
        ["Error", r.error],
      ]),
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: resume, disabled: !resumable,
        "aria-describedby": "resume-why" }, "Resume…"),
      h("span", { id: "resume-why", class: "muted" }, resumable ? "Continues from the last committed chunk." : `A ${r.status} run cannot be resumed.`)),
      section("Failed rows",
        r.errors_unavailable ? h("p", { class: "msg error" }, `The failed rows cannot be read: ${r.errors_unavailable}`) : null,
        table([
          { label: "Row", num: true, value: (e) => num(e.row) },
          { label: "Key", value: (e) => (e.key === null ? "(missing)" : h("code", {}, e.key)) },
          { label: "Reason", value: (e) => e.reason },
        ], r.errors, { empty: "No row failed." }),
        r.errors_truncated ? h("p", { class: "muted" }, `Showing the first ${r.errors.length} failed rows.`) : null));
    if (r.status === "running" || r.status === "queued") waiting = 0;
    if (r.status === "running" || r.status === "queued" || waiting-- > 0) timer = setTimeout(refresh, REFRESH_MS);
  }
  await refresh();
}
