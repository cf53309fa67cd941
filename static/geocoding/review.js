// Review-queue map: borough outlines from the gazetteer (no tile server needed), the
// candidates as numbered markers, and a click that fills the latitude/longitude fields.
(function () {
  "use strict";
  var el = document.getElementById("review-map");
  var dataEl = document.getElementById("review-map-data");
  if (!el || !dataEl || typeof L === "undefined") { return; }
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el).setView([51.5074, -0.1278], 10);
  if (data.tileUrl) {
    L.tileLayer(data.tileUrl, { maxZoom: 19 }).addTo(map);
  }
  fetch(el.dataset.boroughsUrl, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (geo) {
      if (geo) {
        L.geoJSON(geo, { style: { color: "#505a5f", weight: 1, fillOpacity: 0.03 } })
          .bindTooltip(function (layer) { return layer.feature.properties.name; })
          .addTo(map);
      }
    });
  var bounds = [];
  data.candidates.forEach(function (c, i) {
    var marker = L.circleMarker([c.lat, c.lon], { radius: 8, color: i === 0 ? "#1d70b8" : "#d4351c" })
      .bindTooltip(String(i + 1) + ". " + c.name, { permanent: true, direction: "right" })
      .addTo(map);
    marker.on("click", function () {
      var radio = document.getElementById("candidate-" + i);
      if (radio) { radio.checked = true; }
    });
    bounds.push([c.lat, c.lon]);
  });
  if (bounds.length) { map.fitBounds(bounds, { maxZoom: 15, padding: [40, 40] }); }
  var picked = null;
  map.on("click", function (e) {
    document.getElementById("id_lat").value = e.latlng.lat.toFixed(6);
    document.getElementById("id_lon").value = e.latlng.lng.toFixed(6);
    if (picked) { picked.setLatLng(e.latlng); } else { picked = L.circleMarker(e.latlng, { radius: 6, color: "#00703c" }).addTo(map); }
  });
})();
