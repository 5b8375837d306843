// Charts with uPlot (served from npm by augur): bars for reports, lines for live metrics.
// Each chart is a <figure> whose caption names it and whose canvas carries a text summary,
// with the numbers also in a table for screen readers and keyboard users.
import uPlot from "/console/vendor/uPlot.esm.js";
import { h, num, table } from "/console/static/ui.mjs";

const COLORS = ["#2d4a8a", "#c8553d", "#3a7d44", "#8a5a9e", "#b08900", "#2a8a8a", "#7a7a7a", "#d0417e"];

export function color(i) {
  return COLORS[i % COLORS.length];
}

const live = new Set();

function widthOf(el) {
  return Math.max(240, Math.min(el.clientWidth || 480, 720));
}

function resizeAll() {
  for (const chart of live) {
    if (!chart.root.isConnected) { chart.destroy(); live.delete(chart); continue; }
    chart.setSize({ width: widthOf(chart.root.parentElement), height: chart.height });
  }
}
window.addEventListener("resize", () => requestAnimationFrame(resizeAll));

// Stop every chart no longer on the page (called when a page is left).
export function sweep() {
  for (const chart of live) {
    if (!chart.root.isConnected) { chart.destroy(); live.delete(chart); }
  }
}
window.augurCharts = { sweep };

function figure(title, summary) {
  const holder = h("div", { class: "chart", role: "img", "aria-label": `${title}: ${summary}` });
  const fig = h("figure", { class: "chart-figure" }, h("figcaption", {}, title), holder);
  return { fig, holder };
}

function mount(holder, opts, data) {
  // uPlot needs a laid-out parent to measure; mount once the figure is in the document.
  const build = () => {
    const chart = new uPlot({ ...opts, width: widthOf(holder), height: opts.height || 200 }, data, holder);
    live.add(chart);
    holder.uplot = chart;
  };
  requestAnimationFrame(build);
}

// categories: ["parent", "int8"]; series: [{label, values: [..per category]}]
export function barChart(title, categories, series, { unit = "", height = 190 } = {}) {
  const summary = series.map((s) => `${s.label}: ${categories.map((c, i) => `${c} ${num(s.values[i])}${unit}`).join(", ")}`).join("; ");
  const { fig, holder } = figure(title, summary);
  const n = series.length;
  const opts = {
    height,
    legend: { show: n > 1, live: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [-0.5, categories.length - 0.5] }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
    axes: [
      { splits: () => categories.map((_, i) => i), values: (u, splits) => splits.map((i) => categories[i] ?? ""), grid: { show: false } },
      { size: 78, values: (u, vals) => vals.map((v) => `${num(v)}${unit}`) },
    ],
    series: [{ label: "" }, ...series.map((s, i) => ({
      label: s.label, stroke: color(i), fill: `${color(i)}cc`, width: 1,
      paths: uPlot.paths.bars({ size: [0.7 / n, 80], align: n === 1 ? 0 : i === 0 ? -1 : 1 }),
      points: { show: false },
    }))],
  };
  mount(holder, opts, [categories.map((_, i) => i), ...series.map((s) => s.values)]);
  fig.append(h("details", { class: "chart-data" }, h("summary", {}, "Numbers"),
    table([{ label: "", value: (r) => r.label }, ...categories.map((c, i) => ({ label: c, num: true, value: (r) => `${num(r.values[i])}${unit}` }))], series)));
  return fig;
}

// A live line chart: call update(times, [{label, values}]) with times in Unix seconds.
export function lineChart(title, { unit = "", height = 200, window = 180 } = {}) {
  const { fig, holder } = figure(title, "no data yet");
  const text = h("p", { class: "muted chart-empty" }, "Waiting for traffic…");
  fig.append(text);
  let key = "";
  function update(times, series) {
    const labels = series.map((s) => s.label).join("|");
    const latest = series.map((s) => `${s.label} ${num(s.values[s.values.length - 1])}${unit}`).join(", ");
    holder.setAttribute("aria-label", `${title}: ${latest || "no data"}`);
    text.hidden = series.length > 0;
    if (!series.length) return;
    const data = [times, ...series.map((s) => s.values)];
    if (holder.uplot && labels === key) {
      holder.uplot.setData(data);
      return;
    }
    if (holder.uplot) { live.delete(holder.uplot); holder.uplot.destroy(); holder.uplot = null; holder.replaceChildren(); }
    key = labels;
    mount(holder, {
      height,
      // The last few minutes, whatever the data: one point must not span years.
      scales: { x: { time: true, range: (u, lo, hi) => [Math.min(lo, hi - window), hi] },
        y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.15 : 1] } },
      legend: { live: false },
      axes: [{}, { size: 78, values: (u, vals) => vals.map((v) => `${num(v)}${unit}`) }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: color(i), width: 2, spanGaps: true }))],
    }, data);
  }
  return { fig, update };
}
