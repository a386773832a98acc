// The dashboard's page: one HTML file with its CSS and JS inline, loading
// nothing (no CDN, no fonts, no build step). It polls `stats` (relative to
// the page) every 500 ms and fills itself in; every name it shows goes in as
// text, never as markup.
//
// What a test can hold on to: `#status` ("running", "done"); per stage a
// `tr[data-stage]` whose `td[data-field]` cells are `rate` (items/s out, a
// plain number, from the last two snapshots), `inFlight`, `concurrency`,
// `occupancy` and `fullness` (percent), `sparkline` (an inline SVG); the
// bottleneck's row has class "bottleneck"; per pool a `div[data-pool]` with
// one `span[data-worker]` per worker, class "busy" or "idle".

const STYLE = `
  :root { color-scheme: light dark; --fg: #1d1f21; --bg: #fbfbfa; --dim: #6b6f76;
    --line: #d9dadc; --busy: #2f9e44; --idle: #c9ccd1; --hot: #fff0c2; --spark: #1c7ed6; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e4e5e7; --bg: #17181a; --dim: #9a9ea6;
    --line: #34363a; --busy: #51cf66; --idle: #3d4046; --hot: #4a3c12; --spark: #4dabf7; } }
  * { box-sizing: border-box; }
  body { margin: 0; padding: 1.25rem 1.5rem; font: 14px/1.4 system-ui, sans-serif;
    color: var(--fg); background: var(--bg); }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.4rem 1.25rem;
    margin-bottom: 1rem; }
  h1 { font-size: 1.15rem; margin: 0; }
  h2 { font-size: 0.95rem; margin: 1.25rem 0 0.5rem; color: var(--dim); font-weight: 600; }
  #status { font-weight: 600; padding: 0.05rem 0.5rem; border-radius: 0.6rem;
    background: var(--idle); }
  #status.running { background: var(--busy); color: #fff; }
  #error { color: #e03131; }
  .dim { color: var(--dim); }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); text-align: right;
    white-space: nowrap; }
  th { font-weight: 600; color: var(--dim); font-size: 0.8rem; }
  th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
  tr.bottleneck td { background: var(--hot); }
  tr.bottleneck td:first-child::after { content: " \\2190 bottleneck"; color: var(--dim);
    font-size: 0.8rem; }
  .bar { display: inline-block; width: 4rem; height: 0.55rem; background: var(--idle);
    border-radius: 0.3rem; overflow: hidden; vertical-align: middle; }
  .bar > span { display: block; height: 100%; background: var(--busy); }
  svg.spark { display: block; }
  svg.spark polyline { fill: none; stroke: var(--spark); stroke-width: 1.5; }
  .pool { margin: 0 0 0.9rem; }
  .pool h3 { font-size: 0.9rem; margin: 0 0 0.35rem; }
  .pool h3 .dim { font-weight: 400; }
  .workers { display: flex; flex-wrap: wrap; gap: 0.3rem; }
  .workers span { min-width: 2.2rem; padding: 0.15rem 0.35rem; border-radius: 0.25rem;
    text-align: center; font-size: 0.75rem; font-variant-numeric: tabular-nums; }
  .workers .busy { background: var(--busy); color: #fff; }
  .workers .idle { background: var(--idle); }
`;

// Plain JS for any browser of the last few years; no template literals, so
// that this file's own template literal holds it as it is.
const SCRIPT = `
"use strict";
var POLL_MS = 500;
var HISTORY = 120; // 60 s of rates per stage
var rows = new Map(); // stage name -> { row, cells, rates, last }
var pools = new Map(); // pool name -> { box, head, workers }
var $ = function (id) { return document.getElementById(id); };

function el(name, attrs, text) {
  var node = document.createElement(name);
  for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
  if (text !== undefined) node.textContent = text;
  return node;
}

function number(n, digits) {
  return n === null || n === undefined ? "\\u221e" : n.toFixed(digits);
}

function percent(share) {
  return Math.round(share * 100) + "%";
}

function rateText(rate) {
  return rate.toFixed(rate < 100 ? 1 : 0);
}

function seconds(ms) {
  var s = ms / 1000;
  return s < 60 ? s.toFixed(1) + " s" : Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
}

function stageRow(stage) {
  var entry = rows.get(stage.name);
  if (entry) return entry;
  var row = el("tr");
  row.dataset.stage = stage.name;
  var cells = {};
  var fields = ["name", "kind", "rate", "sparkline", "itemsOut", "inFlight", "concurrency",
    "load", "occupancy", "fullness", "p50", "p99", "failures"];
  fields.forEach(function (field) {
    var cell = el("td");
    cell.dataset.field = field;
    row.appendChild(cell);
    cells[field] = cell;
  });
  cells.name.textContent = stage.name;
  cells.kind.textContent = stage.kind;
  // Markup of our own (no names in it): the parser gives the SVG its namespace.
  cells.sparkline.innerHTML = '<svg class="spark" width="120" height="24" viewBox="0 0 120 24" ' +
    'role="img"><polyline points=""></polyline></svg>';
  var bar = el("span", { class: "bar" });
  bar.appendChild(el("span"));
  cells.load.appendChild(bar);
  $("stages").tBodies[0].appendChild(row);
  entry = { row: row, cells: cells, rates: [], last: undefined };
  rows.set(stage.name, entry);
  return entry;
}

function drawSparkline(entry) {
  var rates = entry.rates;
  var top = Math.max.apply(null, rates.concat([1]));
  var points = rates.map(function (rate, i) {
    var x = 120 - (rates.length - 1 - i);
    var y = 23 - (rate / top) * 22;
    return x + "," + y.toFixed(1);
  });
  var svg = entry.cells.sparkline.firstChild;
  svg.firstChild.setAttribute("points", points.join(" "));
  svg.setAttribute("aria-label", "items/s over the last " + rates.length / 2 + " s, up to " +
    rateText(top));
}

function renderStage(stage, elapsedMs, slowest) {
  var entry = stageRow(stage);
  var cells = entry.cells;
  var last = entry.last;
  // items/s out, from this snapshot and the one before (the average at first).
  var rate = entry.rates.length > 0 ? entry.rates[entry.rates.length - 1] : 0;
  if (last === undefined) {
    rate = elapsedMs > 0 ? stage.itemsOut / (elapsedMs / 1000) : 0;
  } else if (elapsedMs > last.elapsedMs) {
    rate = (stage.itemsOut - last.itemsOut) / ((elapsedMs - last.elapsedMs) / 1000);
  }
  if (last === undefined || elapsedMs > last.elapsedMs) {
    entry.rates.push(rate);
    if (entry.rates.length > HISTORY) entry.rates.shift();
  }
  entry.last = { elapsedMs: elapsedMs, itemsOut: stage.itemsOut };
  cells.rate.textContent = rateText(rate);
  cells.itemsOut.textContent = String(stage.itemsOut);
  cells.inFlight.textContent = String(stage.inFlight);
  cells.concurrency.textContent = number(stage.concurrency, 0);
  var load = stage.concurrency ? Math.min(1, stage.inFlight / stage.concurrency) : 0;
  cells.load.firstChild.firstChild.style.width = percent(load);
  cells.load.title = stage.inFlight + " of " + number(stage.concurrency, 0) + " tasks running";
  cells.occupancy.textContent = percent(stage.occupancy);
  cells.fullness.textContent = percent(stage.fullness);
  cells.p50.textContent = stage.latencyMs ? number(stage.latencyMs.p50, 1) : "-";
  cells.p99.textContent = stage.latencyMs ? number(stage.latencyMs.p99, 1) : "-";
  cells.failures.textContent = String(stage.failures);
  entry.row.classList.toggle("bottleneck", stage.name === slowest);
  drawSparkline(entry);
}

function poolBox(pool) {
  var entry = pools.get(pool.name);
  if (entry) return entry;
  var box = el("div", { class: "pool" });
  box.dataset.pool = pool.name;
  var head = el("h3");
  var workers = el("div", { class: "workers" });
  box.appendChild(head);
  box.appendChild(workers);
  $("pools").appendChild(box);
  entry = { box: box, head: head, workers: workers };
  pools.set(pool.name, entry);
  return entry;
}

function renderPool(pool) {
  var entry = poolBox(pool);
  var busy = pool.workers.filter(function (w) { return w.queueLength > 0; }).length;
  entry.head.textContent = pool.name + " ";
  entry.head.appendChild(el("span", { class: "dim" },
    busy + " of " + pool.workers.length + " workers busy \\u00b7 " + pool.queued +
      " queued \\u00b7 " + pool.tasksDone + " tasks done" +
      (pool.crashes > 0 ? " \\u00b7 " + pool.crashes + " crashes" : "") +
      (pool.closed ? " \\u00b7 closed" : "")));
  var spans = pool.workers.map(function (w) {
    var span = el("span", { class: w.queueLength > 0 ? "busy" : "idle" }, String(w.id));
    span.dataset.worker = String(w.id);
    span.title = "worker " + w.id + ": " + w.queueLength + " in hand, " + w.tasksDone +
      " tasks done, busy " + seconds(w.busyMs) + (w.pid !== undefined ? ", pid " + w.pid : "");
    return span;
  });
  entry.workers.replaceChildren.apply(entry.workers, spans);
}

function render(stats) {
  var status = $("status");
  var started = stats.elapsedMs > 0 || stats.stages.length > 0;
  status.textContent = stats.done ? "done" : started ? "running" : "not started";
  status.className = stats.done ? "done" : started ? "running" : "";
  $("elapsed").textContent = seconds(stats.elapsedMs) + " elapsed";
  stats.stages.forEach(function (stage) { renderStage(stage, stats.elapsedMs, stats.bottleneck); });
  var lastStage = stats.stages[stats.stages.length - 1];
  var out = lastStage ? rows.get(lastStage.name) : undefined;
  $("throughput").textContent = out ? rateText(out.rates[out.rates.length - 1] || 0) +
    " items/s out" : "";
  $("bottleneck").textContent = stats.bottleneck ? "bottleneck: " + stats.bottleneck : "";
  stats.pools.forEach(renderPool);
  $("no-pools").hidden = stats.pools.length > 0;
  $("error").textContent = "";
}

function poll() {
  fetch("stats", { cache: "no-store" })
    .then(function (response) {
      if (!response.ok) throw new Error("stats: HTTP " + response.status);
      return response.json();
    })
    .then(function (stats) {
      render(stats);
      if (!stats.done) setTimeout(poll, POLL_MS);
    })
    .catch(function (error) {
      $("error").textContent = "no answer from the pipeline's process (" + error.message +
        "); trying again";
      setTimeout(poll, POLL_MS);
    });
}

poll();
`;

/** The dashboard's page, as `GET /` sends it. */
export const DASHBOARD_PAGE: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>conveyor dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>conveyor</h1>
  <span id="status">connecting</span>
  <span id="elapsed" class="dim"></span>
  <span id="throughput"></span>
  <span id="bottleneck"></span>
  <span id="error"></span>
</header>
<main>
  <h2>Stages</h2>
  <table id="stages">
    <thead>
      <tr>
        <th>stage</th><th>kind</th><th>items/s</th><th>items/s, last 60 s</th><th>out</th>
        <th>in flight</th><th>concurrency</th><th>load</th>
        <th title="share of the time the output buffer held items">occupancy</th>
        <th title="share of the time the output buffer was full">fullness</th>
        <th>p50 ms</th><th>p99 ms</th><th>failed</th>
      </tr>
    </thead>
    <tbody></tbody>
  </table>
  <h2>Pools</h2>
  <div id="pools"><p id="no-pools" class="dim">Every stage runs on the event loop.</p></div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
