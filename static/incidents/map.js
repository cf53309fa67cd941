// The workspace map: area boundaries from the gazetteer shaded by incident counts (a
// choropleth), and for record-level users a density grid of their masked points. Needs
// no tile server; a base map is added only when a tile URL is configured.
(function () {
  "use strict";
  var el = document.getElementById("workspace-map");
  var configEl = document.getElementById("map-config");
  var status = document.getElementById("map-status");
  if (!el || !configEl || typeof L === "undefined") { return; }
  var config = JSON.parse(configEl.textContent);
  var SHADES = ["#ffffff", "#d2e2f1", "#a5c5e3", "#5694ca", "#1d70b8", "#003078"];
  var SUPPRESSED = "#b1b4b6";

  var map = L.map(el, { preferCanvas: false }).setView([51.5074, -0.1278], 10);
  if (config.tileUrl) { L.tileLayer(config.tileUrl, { maxZoom: 18 }).addTo(map); }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }

  function shade(value, top) {
    if (value === "*") { return SUPPRESSED; }
    if (!value || !top) { return SHADES[0]; }
    return SHADES[Math.min(5, Math.ceil(5 * value / top))];
  }

  function legend(top, hasSuppressed) {
    var box = document.getElementById("map-legend");
    if (!box) { return; }
    box.textContent = "";
    var parts = [["legend-0", "0"]];
    for (var i = 1; i <= 5; i++) {
      parts.push(["legend-" + i, "up to " + Math.ceil(top * i / 5)]);
    }
    if (hasSuppressed) { parts.push(["legend-s", "suppressed (*)"]); }
    parts.forEach(function (p) {
      var swatch = document.createElement("span");
      swatch.className = "workspace-legend__swatch " + p[0];
      swatch.setAttribute("aria-hidden", "true");
      box.appendChild(swatch);
      box.appendChild(document.createTextNode(p[1]));
    });
  }

  function fillTable(data) {
    var body = document.querySelector("#map-table tbody");
    if (!body) { return; }
    Object.keys(data.areas).sort(function (a, b) {
      return (data.names[a] || a).localeCompare(data.names[b] || b);
    }).forEach(function (code) {
      var tr = document.createElement("tr");
      tr.className = "govuk-table__row";
      var th = document.createElement("th");
      th.scope = "row";
      th.className = "govuk-table__header";
      th.textContent = (data.names[code] || code) + " (" + code + ")";
      var td = document.createElement("td");
      td.className = "govuk-table__cell govuk-table__cell--numeric";
      td.textContent = String(data.areas[code]);
      tr.appendChild(th);
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  Promise.all([getJSON(config.boundariesUrl), getJSON(config.dataUrl)]).then(function (results) {
    var geo = results[0];
    var data = results[1];
    if (data.refused) {
      // Too few incidents to shade areas at this level for this access: say why.
      status.textContent = data.refused;
      el.setAttribute("data-loaded", "true");
      return;
    }
    var numbers = Object.keys(data.areas).map(function (k) { return data.areas[k]; })
      .filter(function (v) { return typeof v === "number"; });
    var top = numbers.length ? Math.max.apply(null, numbers) : 0;
    var hasSuppressed = Object.keys(data.areas).some(function (k) { return data.areas[k] === "*"; });
    var layer = L.geoJSON(geo, {
      style: function (feature) {
        var value = data.areas[feature.properties.code];
        return { color: "#505a5f", weight: 1, fillColor: shade(value, top), fillOpacity: 0.7 };
      }
    }).bindTooltip(function (l) {
      var code = l.feature.properties.code;
      var value = data.areas[code];
      return l.feature.properties.name + ": " + (value === undefined ? 0 : value);
    }).addTo(map);
    if (geo.features && geo.features.length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
    if (data.grid) {
      var gridTop = data.grid.reduce(function (m, c) { return Math.max(m, c.count); }, 0);
      data.grid.forEach(function (c) {
        L.circleMarker([c.lat, c.lon], {
          radius: 3 + 9 * Math.sqrt(c.count / (gridTop || 1)),
          color: "#d4351c", weight: 1, fillColor: "#d4351c", fillOpacity: 0.5
        }).bindTooltip(c.count + " incident" + (c.count === 1 ? "" : "s")).addTo(map);
      });
    }
    legend(top, hasSuppressed);
    fillTable(data);
    if (data.disclosure) {
      var note = document.getElementById("map-disclosure");
      note.textContent = "Disclosure control: " + data.disclosure;
      note.hidden = false;
    }
    var shown = function (n) { return typeof n === "number" ? n.toLocaleString("en-GB") : n; };
    var message = "Map shows " + shown(data.total) + " incidents by " + config.level + ".";
    var unplaced = data.notLocated ? data.notLocated.count : 0;
    if (unplaced !== 0) {
      message = "Of " + shown(data.total) + " incidents, " + shown(unplaced) +
        " have no place at " + config.level + " level: they are counted in the note above, " +
        "not drawn. The areas show the rest.";
    }
    if (data.grid) {
      message += " Circles show where incidents were located, at the precision your access allows";
      message += data.gridCapped ? " (the newest " + data.gridLimit + " only)." : ".";
    }
    status.textContent = message;
    el.setAttribute("data-loaded", "true");
  }).catch(function () {
    status.textContent = "The map could not be loaded. The counts are still available on the other tabs.";
  });
})();
