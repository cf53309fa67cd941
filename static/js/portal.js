/*
 * Runs at the top of <body> (an external file, so the CSP needs no 'unsafe-inline').
 * 1. Marks the page as JavaScript-enabled before first paint, and as supported by
 *    govuk-frontend when the browser understands ES modules (govuk-frontend's rule).
 * 2. Once the page is parsed, loads govuk-frontend (an ES module whose URL the
 *    template passes in data-govuk-frontend, so hashed static names keep working)
 *    and initialises every component on the page.
 * 3. The explore pages' filter panel ([data-filter-panel]): on narrow screens it starts
 *    hidden behind a "Show filters" / "Hide filters" button (the GOV.UK / MOJ filter
 *    pattern). Without JavaScript the panel is simply shown.
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

(function () {
  "use strict";
  function filterToggle() {
    var panel = document.querySelector("[data-filter-panel]");
    if (!panel || !panel.id || !window.matchMedia) {
      return;
    }
    // govuk-frontend's tablet breakpoint (641px) in ems, as its own media queries use.
    var narrow = window.matchMedia("(max-width: 40.0525em)");
    // A panel with an error stays open: the error summary links into it.
    var hasErrors = !!panel.querySelector(".govuk-form-group--error");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "govuk-button govuk-button--secondary workspace-filter-toggle";
    button.setAttribute("aria-controls", panel.id);
    function show(open) {
      panel.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "Hide filters" : "Show filters";
    }
    function fit() {
      button.hidden = !narrow.matches;
      show(!narrow.matches || hasErrors);
    }
    button.addEventListener("click", function () {
      show(panel.hidden);
    });
    panel.parentNode.insertBefore(button, panel);
    if (narrow.addEventListener) {
      narrow.addEventListener("change", fit);
    }
    fit();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", filterToggle);
  } else {
    filterToggle();
  }
})();

/*
 * 4. Copy buttons ([data-copy-target]: the id of the element whose text is copied;
 *    [data-copy-status]: the id of an aria-live region that says whether it worked).
 *    A button starts hidden and is shown only where the Clipboard API is available, so
 *    without it the page still shows the text to select and copy by hand.
 */
(function () {
  "use strict";
  function copyButtons() {
    var buttons = document.querySelectorAll("[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      var status = document.getElementById(button.getAttribute("data-copy-status"));
      if (!target || !status || !navigator.clipboard || !navigator.clipboard.writeText) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        status.textContent = "";
        navigator.clipboard.writeText(target.textContent.trim()).then(
          function () {
            status.textContent = "Copied";
          },
          function () {
            status.textContent = "Could not copy: select the text and copy it yourself.";
          }
        );
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", copyButtons);
  } else {
    copyButtons();
  }
})();
