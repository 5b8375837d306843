// Reading the server's own /metrics (Prometheus text format) and turning two scrapes into
// rates and latency quantiles per model version.

// -> [{name, labels: {..}, value}]
export function parse(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[lm[1]] = lm[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}

// Sum of samples named `name`, grouped by the labels' key function.
export function sumBy(samples, name, key, filter = () => true) {
  const out = new Map();
  for (const s of samples) {
    if (s.name !== name || !filter(s.labels)) continue;
    const k = key(s.labels);
    out.set(k, (out.get(k) || 0) + s.value);
  }
  return out;
}

// Histogram buckets by key: Map(key -> [[le, cumulative count], ...]) sorted by le.
export function buckets(samples, name, key) {
  const out = new Map();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const k = key(s.labels);
    if (!out.has(k)) out.set(k, []);
    out.get(k).push([s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value]);
  }
  for (const list of out.values()) list.sort((a, b) => a[0] - b[0]);
  return out;
}

// The q-quantile of the observations between two scrapes of one histogram, interpolated
// linearly inside the bucket (as Prometheus' histogram_quantile does).
export function quantile(q, now, before) {
  if (!now) return null;
  const delta = now.map(([le, c], i) => [le, c - (before && before[i] ? before[i][1] : 0)]);
  const total = delta.length ? delta[delta.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of delta) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket > 0 ? prevLe + (le - prevLe) * ((rank - prevCount) / inBucket) : le;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
