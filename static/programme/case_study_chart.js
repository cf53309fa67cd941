// The case-study chart: counts from a saved query with disclosure control applied.
// Suppressed counts arrive as null and are left as gaps; the table has every figure.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var el = document.getElementById("case-study-chart-data");
  var canvas = document.getElementById("case-study-chart");
  if (!el || !canvas) { return; }
  var data = JSON.parse(el.textContent);
  new Chart(canvas, {
    type: "bar",
    data: { labels: data.labels,
            datasets: [{ label: "Incidents", data: data.counts, backgroundColor: "#1d70b8" }] },
    options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, title: { display: true, text: "Incidents" } } } }
  });
})();
