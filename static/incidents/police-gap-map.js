// The Police gap page's map: the gazetteer's boundaries (the workspace map's own
// boundaries endpoint) shaded by each area's flag from the table above it. The flags come
// from the page (json_script), never computed here: the table is the source and the map
// only draws it.
(function () {
  "use strict";
  var el = document.getElementById("gap-map");
  var flagsEl = document.getElementById("gap-flags");
  var status = document.getElementById("gap-map-status");
  if (!el || !flagsEl || typeof L === "undefined") { return; }
  var flags = JSON.parse(flagsEl.textContent);
  var COLOURS = { "ED unusually high": "#d4351c", "ED unusually low": "#1d70b8" };
  var map = L.map(el, { maxZoom: 16 }).setView([51.5074, -0.1278], 10);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Boundaries: ONS, OGL v3.0, contains OS data © Crown copyright.");
  fetch(el.getAttribute("data-boundaries"), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (geojson) {
      var layer = L.geoJSON(geojson, {
        style: function (feature) {
          var flag = flags[feature.properties.code] || "";
          return {
            color: "#505a5f", weight: 1, fillOpacity: flag ? 0.6 : 0.1,
            fillColor: COLOURS[flag] || "#b1b4b6"
          };
        },
        onEachFeature: function (feature, shape) {
          var flag = flags[feature.properties.code] || "no flag";
          shape.bindTooltip(feature.properties.name + ": " + flag);
        }
      }).addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
      if (status) { status.textContent = "Map drawn: red areas ED unusually high, blue ED unusually low, grey no flag."; }
    })
    .catch(function () { if (status) { status.textContent = "The map could not be drawn; the table has the same flags."; } });
})();
