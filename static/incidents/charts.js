// Charts for the dashboard and the charts tab, drawn with Chart.js from data the page
// embeds with json_script (no inline script: the Content-Security-Policy forbids it).
// Every chart has a data table next to it, so the canvas is a visual extra only.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var BLUE = "#1d70b8";
  var GREY = "#505a5f";
  var LIGHT_GREY = "#b1b4b6";

  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function draw(canvas, series, kind) {
    if (!canvas || !series) { return; }
    // Suppressed cells arrive as null and are drawn as gaps, never as zero.
    var datasets = [{
      label: series.title,
      data: series.values,
      borderColor: BLUE,
      backgroundColor: kind === "bar" ? BLUE : "rgba(29, 112, 184, 0.15)",
      spanGaps: false,
      fill: kind === "line",
      pointRadius: 2
    }];
    // Trends: incomplete months (not over, or not every hospital's file published)
    // arrive in their own series and are drawn as grey points, off the line, so a
    // missing file never looks like a fall.
    var incomplete = series.incomplete || [];
    var hasIncomplete = incomplete.some(function (v) { return v !== null; });
    if (hasIncomplete) {
      datasets.push({
        label: "Incomplete",
        data: incomplete,
        borderColor: GREY,
        backgroundColor: LIGHT_GREY,
        showLine: false,
        fill: false,
        pointStyle: "rectRot",
        pointRadius: 5
      });
    }
    var notes = series.notes || [];
    return new Chart(canvas, {
      type: kind,
      data: { labels: series.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: kind === "bar" ? "y" : "x",
        plugins: {
          legend: { display: hasIncomplete },
          tooltip: {
            callbacks: {
              footer: function (items) {
                var note = items.length ? notes[items[0].dataIndex] : "";
                return note || "";
              }
            }
          }
        },
        scales: {
          x: { ticks: { color: GREY }, beginAtZero: kind === "bar" },
          y: { ticks: { color: GREY }, beginAtZero: kind !== "bar" }
        }
      }
    });
  }

  var trend = read("trend-chart-data");
  if (trend) { draw(document.getElementById("trend-chart"), trend, "line"); }

  var data = read("chart-data");
  if (data) {
    draw(document.getElementById("chart-month"), data.month, "line");
    draw(document.getElementById("chart-week"), data.week, "line");
    draw(document.getElementById("chart-method"), data.method, "bar");
    draw(document.getElementById("chart-location_type"), data.location_type, "bar");
  }
})();
