// The console's shell: sign-in, the section router (#/models, #/traffic, ...) and the info
// every page needs (is a model server running here? what may the signed-in token do?).
import { api, setToken, token } from "/console/static/api.mjs";
import { clear, clearNotice, errorBox, h, notify } from "/console/static/ui.mjs";

const PAGES = {
  models: () => import("/console/static/models.mjs"),
  traffic: () => import("/console/static/traffic.mjs"),
  batch: () => import("/console/static/batch.mjs"),
  features: () => import("/console/static/features.mjs"),
  monitoring: () => import("/console/static/monitoring.mjs"),
  edge: () => import("/console/static/edge.mjs"),
};
const TITLES = { models: "Models", traffic: "Traffic", batch: "Batch", features: "Features", monitoring: "Monitoring", edge: "Edge" };

const ctx = { info: { served: false, role: "none" }, stop: [], pending: null };

// Pages that need the session (is a model server here?) await ctx.session(); the listing
// does not, so its data is fetched while the session is asked for.
function refreshSession() {
  ctx.pending = fillSession();
  return ctx.pending;
}

async function fillSession() {
  ctx.info = await api.get("/console/api/info");
  const signedIn = Boolean(token());
  document.getElementById("signin").hidden = signedIn;
  document.getElementById("whoami").hidden = !signedIn;
  const roles = { admin: "admin: may change things", inference: "read only", none: "no access" };
  document.getElementById("role").textContent = `Signed in (${roles[ctx.info.role] || ctx.info.role})`;
  document.body.dataset.role = ctx.info.role;
  document.body.dataset.served = String(ctx.info.served);
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = PAGES[parts[0]] ? parts[0] : "models";
  return { section, args: parts.slice(1), query: new URLSearchParams(query) };
}

let generation = 0;

async function route() {
  const mine = ++generation;
  for (const stop of ctx.stop.splice(0)) stop();
  const { section, args, query } = parseHash();
  for (const link of document.querySelectorAll("nav a[data-section]")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[section]} · augur console`;
  const main = document.getElementById("main");
  try {
    const page = await PAGES[section]();
    if (mine !== generation) return;
    const view = h("div", { class: "page", "data-page": section });
    clear(main, view);
    const session = async () => { await ctx.pending; return ctx.info; };
    await page.render(view, { args, query, navigate, session, onLeave: (f) => ctx.stop.push(f) });
  } catch (err) {
    if (mine === generation) clear(main, errorBox(err));
  }
  // Charts (and uPlot) load only with the pages that draw them.
  if (window.augurCharts) window.augurCharts.sweep();
  if (mine === generation) document.body.dataset.ready = section;
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function start() {
  document.getElementById("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("token");
    setToken(input.value.trim());
    input.value = "";
    await refreshSession();
    notify(ctx.info.role === "none" ? "That token opens nothing here." : "Signed in.", ctx.info.role === "none" ? "error" : "ok");
    route();
  });
  document.getElementById("signout").addEventListener("click", async () => {
    setToken("");
    await refreshSession();
    notify("Signed out: the token was removed from this tab.");
    route();
  });
  window.addEventListener("hashchange", () => {
    clearNotice();
    route().then(() => document.getElementById("main").focus({ preventScroll: true }));
  });
  refreshSession().catch((err) => clear(document.getElementById("main"), errorBox(err)));
  route();
}

start();
