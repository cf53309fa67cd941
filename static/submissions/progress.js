/*
 * Live progress on a submission's status page (an external file: the CSP allows no
 * inline script). Polls the JSON endpoint named in data-progress-url, moves the
 * progress bar (role="progressbar": aria-valuenow / aria-valuetext follow), announces
 * each new step through a polite live region, and reloads the page once processing
 * has finished so the links to the report and scorecard appear. Without JavaScript the
 * page still works: it has a plain "Refresh" link.
 */
(function () {
  "use strict";
  var root = document.querySelector("[data-progress-url]");
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-progress-url");
  var bar = root.querySelector("[role=progressbar]");
  var fill = root.querySelector("[data-progress-bar]");
  var percent = root.querySelector("[data-progress-percent]");
  var stepText = root.querySelector("[data-progress-step]");
  var announce = root.querySelector("[data-progress-announce]");
  var refresh = root.querySelector("[data-progress-refresh]");
  var lastStep = stepText ? stepText.textContent : "";
  var interval = 1500;
  var failures = 0;

  if (refresh) {
    refresh.hidden = true; // polling replaces the manual refresh while it works
  }

  function widthClass(value) {
    return "portal-progress__bar--" + Math.max(0, Math.min(100, Math.floor(value / 5) * 5));
  }

  function show(data) {
    var value = Math.max(0, Math.min(100, Number(data.progress) || 0));
    bar.setAttribute("aria-valuenow", String(value));
    // A rejected or failed file: the error state and its words, not "100%" in blue.
    bar.setAttribute("aria-valuetext", data.failed ? data.step : value + "% – " + data.step);
    bar.classList.toggle("portal-progress--error", Boolean(data.failed));
    fill.className = "portal-progress__bar " + widthClass(value) +
      (data.failed ? " portal-progress__bar--error" : "");
    percent.textContent = data.failed ? "" : value + "%";
    stepText.textContent = data.step;
    if (data.step !== lastStep) {
      lastStep = data.step;
      announce.textContent = data.finished
        ? "Finished: " + data.status_label
        : "Now: " + data.step;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (data.finished) {
          announce.textContent = "Finished: " + data.status_label + ". Loading the results.";
          window.setTimeout(function () { window.location.reload(); }, 800);
          return;
        }
        window.setTimeout(poll, interval);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          if (refresh) {
            refresh.hidden = false; // give the person the manual way back
          }
          return;
        }
        window.setTimeout(poll, interval * (failures + 1));
      });
  }

  window.setTimeout(poll, interval);
})();
