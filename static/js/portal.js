/*
 * Runs at the top of <body> (an external file, so the CSP needs no 'unsafe-inline').
 * 1. Marks the page as JavaScript-enabled before first paint, and as supported by
 *    govuk-frontend when the browser understands ES modules (govuk-frontend's rule).
 * 2. Once the page is parsed, loads govuk-frontend (an ES module whose URL the
 *    template passes in data-govuk-frontend, so hashed static names keep working)
 *    and initialises every component on the page.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var supported = "noModule" in HTMLScriptElement.prototype;
  document.body.className += " js-enabled" + (supported ? " govuk-frontend-supported" : "");
  if (!supported || !script) {
    return;
  }
  var src = script.getAttribute("data-govuk-frontend");
  function start() {
    import(src).then(function (govuk) {
      govuk.initAll();
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
