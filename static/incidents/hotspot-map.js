// The Hotspots page's map: hot and cold cells from the page (json_script), never computed
// here. Grid squares are drawn from their corners; LSOAs from the workspace map's own
// boundaries endpoint. The base layer is the offline outline layer of the workspace map.
(function () {
  "use strict";
  var el = document.getElementById("hotspot-map");
  var configEl = document.getElementById("hotspot-config");
  var status = document.getElementById("hotspot-map-status");
  if (!el || !configEl || typeof L === "undefined") { return; }
  var config = JSON.parse(configEl.textContent);
  var CLASS_COLOURS = {
    hot99: "#942514", hot95: "#d4351c", hot90: "#f47738",
    cold90: "#5694ca", cold95: "#1d70b8", cold99: "#003078"
  };
  var DENSITY = ["#dbd5e9", "#b4a7d6", "#8e7cc3", "#6f52a9", "#4c2c92"];
  var map = L.map(el, { maxZoom: 17, preferCanvas: true }).setView([51.5074, -0.1278], 10);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Boundaries: ONS, OGL v3.0, contains OS data © Crown copyright.");
  var overlays = {};
  var significant = L.featureGroup();
  var density = L.featureGroup();
  var byId = {};
  config.cells.forEach(function (cell) { byId[cell.id] = cell; });

  function say(text) { if (status) { status.textContent = text; } }

  function drawGrid() {
    config.cells.forEach(function (cell) {
      if (!cell.b) { return; }
      var bounds = [[cell.b[0], cell.b[1]], [cell.b[2], cell.b[3]]];
      if (cell.k !== "none") {
        L.rectangle(bounds, { color: CLASS_COLOURS[cell.k], weight: 1, fillOpacity: 0.7 })
          .bindTooltip(cell.name + ": " + cell.k).addTo(significant);
      }
      if (config.kde && cell.d > 0) {
        L.rectangle(bounds, { stroke: false, fillColor: DENSITY[cell.d - 1], fillOpacity: 0.6 })
          .addTo(density);
      }
    });
    finish();
  }

  function drawLsoas() {
    fetch(config.boundariesUrl, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (geojson) {
        L.geoJSON(geojson, {
          filter: function (feature) { return !!byId[feature.properties.code]; },
          style: function (feature) {
            var cls = byId[feature.properties.code].k;
            return { color: "#505a5f", weight: 1, fillOpacity: 0.7, fillColor: CLASS_COLOURS[cls] };
          },
          onEachFeature: function (feature, shape) {
            shape.bindTooltip(feature.properties.name + ": " + byId[feature.properties.code].k);
          }
        }).addTo(significant);
        finish();
      })
      .catch(function () { say("The map could not be drawn; the tables on this page have the same results."); });
  }

  function finish() {
    if (config.kde) { density.addTo(map); overlays["Density surface (descriptive)"] = density; }
    significant.addTo(map);
    overlays["Hot and cold spots (tested)"] = significant;
    L.control.layers(null, overlays, { collapsed: false }).addTo(map);
    if (significant.getLayers().length && significant.getBounds().isValid()) {
      map.fitBounds(significant.getBounds(), { maxZoom: 14 });
    } else if (density.getLayers().length) {
      map.fitBounds(density.getBounds(), { maxZoom: 14 });
    }
    say("Map drawn: reds are hot spots (darker is more confident), blues cold spots" +
        (config.kde ? "; purple shades the descriptive density surface." : "."));
  }

  fetch(config.baseUrl, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (base) {
      if (base) {
        L.geoJSON(base, {
          filter: function (feature) { return feature.properties.layer !== "label"; },
          style: function (feature) {
            return { color: "#6f777b", weight: feature.properties.layer === "borough" ? 2 : 0.5, fill: false };
          },
          interactive: false
        }).addTo(map);
      }
    })
    .catch(function () { /* the outlines are a backdrop only */ })
    .then(function () { if (config.level === "grid") { drawGrid(); } else { drawLsoas(); } });
})();
