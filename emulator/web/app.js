// The emulator's page: polls /_emulator/api/state and renders it. Plain DOM,
// no framework, no build step; every text goes in through textContent.
"use strict";

const POLL_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";
const CHARTED = ["IncomingRecords", "IncomingBytes", "ThrottledRecords"];
let selected = null;
let lastState = null;

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const num = (n) => Number(n || 0).toLocaleString("en-US");

function bytes(n) {
  n = Number(n || 0);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}

function compact(n) {
  n = Number(n || 0);
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(0) + "k";
  return String(n);
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten (of
// 1024 for bytes), at least 2 so the middle tick is a whole number.
function niceCeil(v, isBytes) {
  if (v <= 2) return 2;
  const base = isBytes && v >= 1024 ? 1024 ** Math.floor(Math.log(v) / Math.log(1024)) : 1;
  const x = v / base;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p * base;
  return v;
}

function hhmm(unix) {
  const d = new Date(unix * 1000);
  return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
}

function ago(iso, now) {
  const s = Math.max(0, Math.round((Date.parse(now) - Date.parse(iso)) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  return Math.floor(s / 3600) + " h ago";
}

function renderSummary(st) {
  let records = 0, bytesIn = 0, throttled = 0;
  for (const s of st.streams) {
    records += s.totals.IncomingRecords; bytesIn += s.totals.IncomingBytes; throttled += s.totals.ThrottledRecords;
  }
  const stat = (label, value, id, warn) => el("div", { class: "stat" + (warn ? " warn" : ""), id }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
  $("#summary").replaceChildren(
    stat("Streams", num(st.streams.length), "total-streams"),
    stat("Records in", num(records), "total-records"),
    stat("Bytes in", bytes(bytesIn), "total-bytes"),
    stat("Throttled", num(throttled), "total-throttled", throttled > 0),
    stat("Objects", num(st.objectTotals.count) + " · " + bytes(st.objectTotals.bytes), "total-objects"),
  );
}

function renderStreams(st) {
  const body = $("#streams tbody");
  body.replaceChildren(...st.streams.map((s) => {
    const tr = el("tr", { "data-stream": s.name, class: s.name === selected ? "selected" : "" },
      el("td", {}, el("b", {}, s.name)),
      el("td", {}, el("span", { class: "badge " + s.status }, s.status)),
      el("td", { class: "dest" }, "s3://" + s.bucket + "/" + s.prefix),
      el("td", {}, s.sizeInMBs + " MiB / " + s.intervalInSeconds + " s"),
      el("td", { class: "num" }, num(s.totals.IncomingRecords)),
      el("td", { class: "num" }, bytes(s.totals.IncomingBytes)),
      el("td", { class: "num" }, num(s.totals.ThrottledRecords)),
      el("td", { class: "num" }, num(s.bufferedRecords)),
      el("td", { class: "num" }, num(s.totals["DeliveryToS3.Success"])),
    );
    tr.addEventListener("click", () => { selected = s.name; render(lastState); });
    return tr;
  }));
  $("#streams").hidden = st.streams.length === 0;
  $("#no-streams").hidden = st.streams.length !== 0;
}

function chart(container, minutes, values, metric, isBytes) {
  const W = 420, H = 150, left = 54, bottom = 18, top = 8;
  const max = niceCeil(Math.max(...values, 0), isBytes);
  const plotW = W - left - 4, plotH = H - bottom - top;
  const bw = plotW / values.length;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": metric + " per minute", "data-metric": metric });
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH * (1 - f);
    s.append(svg("line", { class: "axis", x1: left, x2: W - 4, y1: y, y2: y }));
    s.append(svg("text", { class: "tick", x: left - 6, y: y + 3, "text-anchor": "end" }, isBytes ? bytes(max * f) : compact(max * f)));
  }
  values.forEach((v, i) => {
    const h = plotH * v / max;
    const r = svg("rect", { class: "bar", x: left + i * bw + 1, y: top + plotH - h, width: Math.max(1, bw - 2), height: h, "data-minute": minutes[i], "data-value": v });
    r.append(svg("title", {}, hhmm(minutes[i]) + " UTC: " + (isBytes ? bytes(v) : num(v))));
    s.append(r);
  });
  s.append(svg("text", { class: "tick", x: left, y: H - 4 }, hhmm(minutes[0])));
  s.append(svg("text", { class: "tick", x: W - 4, y: H - 4, "text-anchor": "end" }, hhmm(minutes[minutes.length - 1]) + " UTC"));
  container.replaceChildren(s);
}

function renderCharts(st) {
  const sel = $("#chart-stream");
  sel.replaceChildren(...st.streams.map((s) => el("option", { value: s.name }, s.name)));
  $("#charts-card").hidden = st.streams.length === 0;
  const s = st.streams.find((x) => x.name === selected);
  if (!s) return;
  sel.value = s.name;
  for (const m of CHARTED) {
    const fig = $("#chart-" + m);
    const values = s.series[m] || [];
    const total = values.reduce((a, b) => a + b, 0);
    fig.querySelector("figcaption").replaceChildren(el("span", {}, m), el("b", { "data-total": total }, m === "IncomingBytes" ? bytes(total) : num(total)));
    chart(fig.querySelector(".plot"), s.minutes, values, m, m === "IncomingBytes");
  }
}

function renderObjects(st) {
  $("#objects").replaceChildren(...st.objects.map((o) => el("li", { "data-key": o.key },
    el("div", { class: "head" },
      el("a", { href: "/" + o.bucket + "/" + o.key.split("/").map(encodeURIComponent).join("/"), title: "download (S3 GetObject)" }, "s3://" + o.bucket + "/" + o.key),
      el("span", { class: "info" }, bytes(o.size) + " · " + ago(o.modified, st.now))),
    el("pre", {}, (o.preview || []).join("\n")),
  )));
  $("#objects-count").textContent = st.objectTotals.count ? "(" + num(st.objectTotals.count) + ")" : "";
  $("#no-objects").hidden = st.objects.length !== 0;
}

function dl(target, rows) {
  $(target).replaceChildren(...rows.flatMap(([k, v, off]) => [el("dt", {}, k), el("dd", { class: off ? "off" : "" }, v)]));
}

function renderSettings(st) {
  const q = st.quotas;
  dl("#quotas", q.enabled ? [
    ["Records/s", num(q.recordsPerSecond)], ["Requests/s", num(q.requestsPerSecond)], ["Bytes/s", bytes(q.bytesPerSecond) + "/s"],
  ] : [["Quotas", "off (nothing is throttled)", true]]);
  const f = st.faults;
  const pct = (p) => (p * 100).toFixed(p < 0.01 && p > 0 ? 2 : 1) + " %";
  const none = !f.requestErrorRate && !f.recordErrorRate && !f.lostResponseRate && !f.latencyMillis;
  const rates = none ? [["Faults", "none injected", true], ["Seed", f.seed]] : [
    ["Request errors", pct(f.requestErrorRate), !f.requestErrorRate], ["Record errors", pct(f.recordErrorRate), !f.recordErrorRate],
    ["Lost responses", pct(f.lostResponseRate), !f.lostResponseRate], ["Latency", f.latencyMillis + " ms", !f.latencyMillis], ["Seed", f.seed],
  ];
  // Scripted faults (Control, POST /_emulator/faults) not yet used up.
  const scripted = (f.scripted || []).map((x) => [
    "Next " + x.times + " " + (x.operation || "calls"), x.action + (x.code ? " " + x.code : "") + (x.delay ? " " + x.delay : ""),
  ]);
  dl("#faults", [...rates, ...scripted]);
  dl("#endpoint", [["URL", location.origin], ["Region", st.region], ["Account", st.account], ["Data dir", st.dataDir]]);
  for (const e of document.querySelectorAll(".endpoint")) e.textContent = location.origin;
  $("#region").textContent = st.region;
}

function render(st) {
  if (!st) return;
  if (!st.streams.some((s) => s.name === selected)) {
    // Start with the busiest stream.
    const busiest = [...st.streams].sort((a, b) => b.totals.IncomingRecords - a.totals.IncomingRecords)[0];
    selected = busiest ? busiest.name : null;
  }
  renderSummary(st);
  renderStreams(st);
  renderCharts(st);
  renderObjects(st);
  renderSettings(st);
  $("#updated").textContent = "updated " + new Date(st.now).toISOString().slice(11, 19) + " UTC";
}

async function poll() {
  try {
    const resp = await fetch("/_emulator/api/state", { cache: "no-store" });
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    lastState = await resp.json();
    render(lastState);
  } catch (err) {
    $("#updated").textContent = "emulator unreachable (" + err.message + ")";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#chart-stream").addEventListener("change", (e) => { selected = e.target.value; render(lastState); });
  poll();
});
