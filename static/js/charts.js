// The dashboard's trend charts (issue 15 part 3), drawn with the vendored Chart.js from data the page passes with
// json_script. No inline script, nothing evaluated: each <canvas data-chart-source="ID"> reads the JSON of the
// <script type="application/json" id="ID"> element. Without JavaScript the table beside each chart stays open.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") return;
  var lang = document.documentElement.lang || "zh-hans";
  var locale = /^zh/i.test(lang) ? "zh-CN" : "en";

  function formatValue(data, value) {
    if (value === null || value === undefined) return "—";
    if (data.pct) return value.toLocaleString(locale, {minimumFractionDigits: 2, maximumFractionDigits: 2}) + "%";
    return value.toLocaleString(locale, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart-source"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var datasets = [{
      label: data.label, data: data.values, borderColor: "#c62828", backgroundColor: "rgba(198,40,40,0.08)",
      borderWidth: 2, pointRadius: data.values.length > 40 ? 0 : 2, pointHitRadius: 6, spanGaps: false, fill: false
    }];
    if (data.warning) {
      datasets.push({
        label: data.warning.label, data: data.labels.map(function () { return data.warning.value; }),
        borderColor: "#ef6c00", borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHitRadius: 0, fill: false
      });
    }
    var chart = new window.Chart(canvas, {
      type: "line",
      data: {labels: data.labels, datasets: datasets},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {ticks: {maxTicksLimit: 6, maxRotation: 0, autoSkip: true}},
          y: {beginAtZero: !!data.pct, ticks: {callback: function (v) { return formatValue(data, v); }}}
        },
        plugins: {
          legend: {display: !!data.warning, position: "bottom", labels: {boxWidth: 12}},
          tooltip: {callbacks: {label: function (item) {
            return item.dataset.label + ": " + formatValue(data, item.parsed.y);
          }}}
        }
      }
    });
    canvas.setAttribute("data-drawn", "true");
    var table = canvas.closest(".chart-card") && canvas.closest(".chart-card").querySelector("details.chart-data");
    if (table) table.removeAttribute("open");  // the chart says it now; the table stays one click away
    return chart;
  }

  function drawAll() {
    var canvases = document.querySelectorAll("canvas[data-chart-source]");
    for (var i = 0; i < canvases.length; i++) draw(canvases[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
