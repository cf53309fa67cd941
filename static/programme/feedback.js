// The feedback chart: each category's share per month for the hospital (solid) and
// London (dashed). Data comes from json_script; the table on the page has every figure.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var el = document.getElementById("feedback-data");
  var canvas = document.getElementById("feedback-chart");
  if (!el || !canvas) { return; }
  var data = JSON.parse(el.textContent);
  var colours = ["#1d70b8", "#d4351c", "#00703c", "#6f72af", "#b58840"];
  var datasets = [];
  data.series.forEach(function (series, i) {
    var colour = colours[i % colours.length];
    datasets.push({ label: series.label, data: series.site, borderColor: colour,
                    backgroundColor: colour, spanGaps: false, pointRadius: 2 });
    datasets.push({ label: series.label + " (London)", data: series.london, borderColor: colour,
                    backgroundColor: colour, borderDash: [6, 4], spanGaps: false, pointRadius: 0 });
  });
  new Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: datasets },
    options: { maintainAspectRatio: false, animation: false,
               scales: { y: { beginAtZero: true, title: { display: true, text: "% of records" } } } }
  });
})();
