// Analytics dashboard: reads /api/v1/analytics (the session cookie
// authenticates GETs) and draws traffic and latency with uPlot. Tables are
// filled with textContent only, and each can be saved as CSV.
import uPlot from "../vendor/uplot/uPlot.esm.js";

const root = document.getElementById("analytics");
const $ = (id) => document.getElementById(id);
const ranges = { "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const charts = {};

function query() {
  const q = new URLSearchParams();
  const range = $("an-range").value;
  if (range === "custom") {
    const from = $("an-from").value, to = $("an-to").value;
    if (from) q.set("from", new Date(from).toISOString());
    if (to) q.set("to", new Date(to).toISOString());
  } else {
    const to = new Date();
    q.set("from", new Date(to.getTime() - (ranges[range] || 86400) * 1000).toISOString());
    q.set("to", to.toISOString());
  }
  const api = $("an-api").value;
  if (api) q.set("api_id", api);
  return q;
}

async function get(path, q) {
  const r = await fetch("/api/v1/" + path + (q ? "?" + q : ""), { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.message) || "The server answered " + r.status + ".");
  return body;
}

const fmt = (n) => (n === undefined || n === null ? "–" : Number(n).toLocaleString());

// value shows a rule's number as people read it: fractions as percentages.
const fractions = new Set(["error_rate", "quota_used", "backend_error_rate"]);
function value(metric, v) {
  if (v === undefined || v === null) return "–";
  if (fractions.has(metric)) return (Math.round(v * 1000) / 10).toLocaleString() + "%";
  return (Math.round(v * 100) / 100).toLocaleString();
}

function fill(id, rows) {
  const tbody = $(id).tBodies[0];
  tbody.replaceChildren();
  if (rows.length === 0) {
    const tr = tbody.insertRow(), td = tr.insertCell();
    td.colSpan = $(id).tHead.rows[0].cells.length;
    td.textContent = $(id).dataset.empty || "No calls in this range.";
    td.className = "muted";
    return;
  }
  for (const cells of rows) {
    const tr = tbody.insertRow();
    for (const c of cells) {
      const td = tr.insertCell();
      if (c instanceof Node) td.append(c);
      else {
        td.textContent = typeof c === "number" ? fmt(c) : c;
        if (typeof c === "number") td.className = "num";
      }
    }
  }
}

function drill(item) {
  const a = document.createElement("a");
  const u = new URL(location.href);
  u.searchParams.set("api_id", item.id);
  a.href = u.pathname + "?" + u.searchParams;
  a.textContent = item.name || item.id;
  return a;
}

function chart(id, title, series, data) {
  const el = $(id);
  const opts = {
    width: Math.max(el.clientWidth, 300), height: 240,
    series: [{}].concat(series),
    axes: [{}, { size: 60 }],
    scales: { x: { time: true } },
  };
  if (charts[id]) charts[id].destroy();
  el.replaceChildren();
  charts[id] = new uPlot(opts, data, el);
}

function draw(ts) {
  const t = ts.points.map((p) => Date.parse(p.t) / 1000);
  chart("an-traffic", "Traffic", [
    { label: "Requests", stroke: "#2f6fdf", fill: "rgba(47,111,223,.08)" },
    { label: "Errors", stroke: "#c8372d" },
  ], [t, ts.points.map((p) => p.requests), ts.points.map((p) => p.errors)]);
  const lat = (k) => ts.points.map((p) => (p.requests ? p[k] : null));
  chart("an-latency", "Latency", [
    { label: "p50", stroke: "#2a9d5b" },
    { label: "p95", stroke: "#d48a00" },
    { label: "p99", stroke: "#c8372d" },
  ], [t, lat("p50_ms"), lat("p95_ms"), lat("p99_ms")]);
}

async function load() {
  const q = query();
  $("an-error").hidden = true;
  try {
    const [sum, ts, apis, apps, ops, errs] = await Promise.all([
      get("analytics/summary", q), get("analytics/timeseries", q),
      get("analytics/top/apis", q), get("analytics/top/applications", q),
      get("analytics/top/operations", q), get("analytics/errors", q),
    ]);
    $("an-requests").textContent = fmt(sum.requests);
    $("an-errors").textContent = fmt(sum.errors) + (sum.requests ? " (" + (sum.error_rate * 100).toFixed(1) + "%)" : "");
    $("an-p50").textContent = sum.requests ? sum.latency_ms.p50 + " ms" : "–";
    $("an-p95").textContent = sum.requests ? sum.latency_ms.p95 + " ms" : "–";
    $("an-p99").textContent = sum.requests ? sum.latency_ms.p99 + " ms" : "–";
    draw(ts);
    fill("an-top-apis", apis.items.map((i) => [drill(i), i.requests, i.errors, i.p95_ms]));
    fill("an-top-apps", apps.items.map((i) => [i.name || "(no application)", i.requests, i.errors, i.p95_ms]));
    fill("an-top-ops", ops.items.map((i) => [i.id || "(any)", i.requests, i.errors, i.p95_ms]));
    fill("an-errors-table", errs.items.map((i) => [i.id, i.requests]));
    const select = $("an-api"), current = select.value;
    for (const i of apis.items) {
      if (![...select.options].some((o) => o.value === i.id)) select.add(new Option(i.name || i.id, i.id));
    }
    for (const o of select.options) if (o.value === current) o.selected = true;
  } catch (e) {
    $("an-error").textContent = e.message;
    $("an-error").hidden = false;
  }
  try {
    const [rules, hist] = await Promise.all([get("alerts", "limit=200"), get("alerts/history")]);
    const names = {}, metricOf = {};
    for (const r of rules.items) {
      metricOf[r.id] = r.metric;
      names[r.id] = r.metric + " " + r.operator + " " + value(r.metric, r.threshold) + (r.metric === "quota_used" ? " (per quota period)" : " over " + r.window);
    }
    fill("an-alerts", rules.items.map((r) => {
      const s = document.createElement("span");
      s.textContent = r.firing ? "firing" : "ok";
      if (r.firing) s.className = "an-firing";
      return [names[r.id], r.api_id || "every API", s, value(r.metric, r.last_value), r.last_detail || ""];
    }));
    fill("an-history", hist.items.map((e) => [new Date(e.at).toLocaleString(), names[e.rule_id] || e.rule_id, e.state,
      value(metricOf[e.rule_id], e.value), e.detail || "", e.notified]));
  } catch (e) {
    fill("an-alerts", []);
  }
}

function csv(id) {
  const rows = [...$(id).rows].map((tr) => [...tr.cells].map((c) => '"' + c.textContent.replace(/"/g, '""') + '"').join(","));
  const blob = new Blob([rows.join("\r\n") + "\r\n"], { type: "text/csv" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = id.replace(/^an-/, "") + ".csv";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

if (root) {
  $("an-range").addEventListener("change", () => {
    root.querySelector(".an-custom").hidden = $("an-range").value !== "custom";
  });
  $("an-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const u = new URLSearchParams();
    u.set("range", $("an-range").value);
    if ($("an-api").value) u.set("api_id", $("an-api").value);
    if ($("an-range").value === "custom") {
      u.set("from", $("an-from").value);
      u.set("to", $("an-to").value);
    }
    history.replaceState(null, "", "?" + u);
    load();
  });
  for (const b of root.querySelectorAll("[data-csv]")) b.addEventListener("click", () => csv(b.dataset.csv));
  window.addEventListener("resize", () => {
    for (const id in charts) charts[id].setSize({ width: Math.max($(id).clientWidth, 300), height: 240 });
  });
  load();
}
