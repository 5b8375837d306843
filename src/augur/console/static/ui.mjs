// Building the page: elements from data (never HTML strings, so no value can inject markup),
// tables, numbers and times, the confirmation dialog and the notice line.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// columns: [{label, value: row => text|Node, num: bool}]
export function table(columns, rows, { caption, empty = "Nothing yet." } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c) => {
        const v = c.value(row);
        return h("td", { class: c.num ? "num" : null }, v === undefined || v === null ? "–" : v);
      }))))));
}

// key/value pairs as a description list
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [
    h("dt", {}, k), h("dd", {}, v === null || v === "" ? "–" : v)]));
}

export function num(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en");
  return Number(value.toPrecision(digits)).toLocaleString("en", { maximumFractionDigits: 6 });
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function when(seconds) {
  if (!seconds) return "–";
  const d = new Date(seconds * 1000);
  return h("time", { datetime: d.toISOString(), title: d.toISOString() }, `${d.toLocaleString("en-GB")} (${ago(seconds)})`);
}

export function ago(seconds) {
  const delta = Date.now() / 1000 - seconds;
  const abs = Math.abs(delta);
  const text = abs < 90 ? `${Math.round(abs)} s` : abs < 5400 ? `${Math.round(abs / 60)} min`
    : abs < 172800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} days`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 1) return `${(seconds * 1000).toFixed(0)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

export function notify(message, kind = "info") {
  const el = document.getElementById("notice");
  clear(el, h("p", { class: `msg ${kind}` }, message));
}

export function clearNotice() {
  clear(document.getElementById("notice"));
}

// A modal question; resolves true when confirmed. Esc and Cancel resolve false.
export function confirmAction(text, okLabel = "Confirm") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

// Runs an action after confirmation and shows its outcome where the user looks: the notice.
export async function act(question, okLabel, action, describe) {
  if (!(await confirmAction(question, okLabel))) {
    notify("Cancelled: nothing was changed.");
    return null;
  }
  try {
    const result = await action();
    notify(describe(result), "ok");
    return result;
  } catch (err) {
    notify(err.explain ? err.explain() : String(err), "error");
    return null;
  }
}

export function errorBox(err) {
  return h("p", { class: "msg error", role: "alert" }, err.explain ? err.explain() : String(err));
}

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), children);
}

// A control that cannot work here, with the reason next to it (and read with it).
export function disabledReason(id, reason) {
  return h("p", { class: "reason", id }, reason);
}
