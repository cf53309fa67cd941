// The workspace map: area boundaries from the gazetteer shaded by incident counts (a
// choropleth) and, for record-level users, their masked points, clustered until zoomed
// in. Needs no tile server: with none configured, a light base of borough and ward
// outlines comes from the portal's own gazetteer. A layer control switches each on/off.
(function () {
  "use strict";
  var el = document.getElementById("workspace-map");
  var configEl = document.getElementById("map-config");
  var status = document.getElementById("map-status");
  if (!el || !configEl || typeof L === "undefined") { return; }
  var config = JSON.parse(configEl.textContent);
  // The one colour scale: the area fills and the legend are both drawn from it.
  var SHADES = config.scale.shades;
  var SUPPRESSED = config.scale.suppressed;
  var CLASSES = SHADES.length - 1; // shade 0 is "no incidents"
  var POINTS_FROM_ZOOM = 14; // below it, points are drawn as clusters with their total
  var LONDON = [51.5074, -0.1278];

  var map = L.map(el, { preferCanvas: false, maxZoom: 18 }).setView(LONDON, 10);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(
    'Boundaries: ONS, OGL v3.0, contains OS data © Crown copyright. ' +
    '<a href="' + config.attributionUrl + '">Sources</a>');
  function zoomed() {
    el.setAttribute("data-zoom", String(map.getZoom()));
    el.classList.toggle("workspace-map--far", map.getZoom() < 11); // smaller borough names
  }
  zoomed();
  map.on("zoomend", zoomed);
  map.createPane("mapBase").style.zIndex = 350; // under the shaded areas (400)
  map.createPane("mapLabels").style.zIndex = 450; // above the areas, under the points
  map.getPane("mapLabels").style.pointerEvents = "none";
  if (config.tileUrl) { L.tileLayer(config.tileUrl, { maxZoom: 18 }).addTo(map); }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }

  // Class breaks: class k (1..CLASSES) holds the counts above breaks[k-1] up to breaks[k].
  function breaksFor(top) {
    var breaks = [0];
    for (var k = 1; k <= CLASSES; k++) { breaks.push(Math.max(breaks[k - 1], Math.floor(top * k / CLASSES))); }
    breaks[CLASSES] = top;
    return breaks;
  }

  function classOf(value, breaks) {
    if (value === "*") { return "s"; }
    if (!value) { return 0; }
    for (var k = 1; k <= CLASSES; k++) { if (value <= breaks[k]) { return k; } }
    return CLASSES;
  }

  function fillOf(cls) { return cls === "s" ? SUPPRESSED : SHADES[cls]; }
  // On the map a suppressed area is hatched: the page's pattern, filled with SUPPRESSED.
  function mapFillOf(cls) { return cls === "s" ? "url(#map-suppressed)" : fillOf(cls); }

  function swatch(cls) {
    var box = document.createElement("span");
    box.className = "workspace-legend__swatch" + (cls === "s" ? " workspace-legend__swatch--suppressed" : "");
    box.setAttribute("aria-hidden", "true");
    box.setAttribute("data-class", String(cls));
    box.style.backgroundColor = fillOf(cls);
    return box;
  }

  function legend(breaks, hasSuppressed) {
    var box = document.getElementById("map-legend");
    if (!box) { return; }
    box.textContent = "";
    var title = document.createElement("span");
    title.className = "workspace-legend__title";
    title.textContent = "Incidents per area:";
    box.appendChild(title);
    var parts = [[0, "0"]];
    for (var k = 1; k <= CLASSES; k++) {
      var low = breaks[k - 1] + 1;
      var high = breaks[k];
      if (high < low) { continue; } // an empty class when the counts are small
      parts.push([k, low === high ? String(high) : low + " to " + high]);
    }
    if (hasSuppressed) { parts.push(["s", "suppressed: a small count not shown (*)"]); }
    parts.forEach(function (p) {
      var item = document.createElement("span");
      item.className = "workspace-legend__item";
      item.appendChild(swatch(p[0]));
      item.appendChild(document.createTextNode(p[1]));
      box.appendChild(item);
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

  function baseLayer(geo) {
    var outlines = L.geoJSON(geo, {
      pane: "mapBase",
      interactive: false,
      filter: function (f) { return f.properties.layer !== "label"; },
      style: function (f) {
        return f.properties.layer === "borough"
          ? { className: "map-outline map-outline--borough", color: "#505a5f", weight: 1.5, fill: false }
          : { className: "map-outline map-outline--ward", color: "#8f979b", weight: 0.75, fill: false };
      }
    });
    var labels = L.geoJSON(geo, {
      filter: function (f) { return f.properties.layer === "label"; },
      pointToLayer: function (f, latlng) {
        var text = document.createElement("span");
        text.textContent = f.properties.name;
        return L.marker(latlng, {
          pane: "mapLabels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "map-label", html: text.outerHTML, iconSize: null })
        });
      }
    });
    return L.layerGroup([outlines, labels]);
  }

  function clusterIcon(cluster) {
    var total = cluster.getAllChildMarkers().reduce(function (sum, m) { return sum + m.options.count; }, 0);
    var size = total < 10 ? 30 : total < 100 ? 36 : total < 1000 ? 42 : 48;
    return L.divIcon({
      className: "map-cluster",
      iconSize: [size, size],
      html: '<span aria-hidden="true">' + total.toLocaleString("en-GB") + "</span>" +
        '<span class="govuk-visually-hidden">' + total.toLocaleString("en-GB") +
        " incidents here; zoom in to see them</span>"
    });
  }

  function pointsLayer(grid) {
    var group = typeof L.markerClusterGroup === "function"
      ? L.markerClusterGroup({
        disableClusteringAtZoom: POINTS_FROM_ZOOM,
        showCoverageOnHover: false,
        spiderfyOnMaxZoom: false, // a click on a cluster always zooms in to its points
        iconCreateFunction: clusterIcon
      })
      : L.layerGroup();
    // Single points are pictures, not controls: they can sit closer together than a
    // target may (WCAG 2.5.8), and the counts are in the clusters and the table.
    grid.forEach(function (c) {
      group.addLayer(L.marker([c.lat, c.lon], {
        count: c.count,
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: "map-point", iconSize: [14, 14],
          html: c.count > 1 ? '<span aria-hidden="true">' + c.count + "</span>" : "" })
      }));
    });
    return group;
  }

  var layers = L.control.layers(null, null, { collapsed: false, position: "topright" });

  function addLayerControl() {
    layers.addTo(map);
    var box = layers.getContainer();
    box.removeAttribute("aria-haspopup"); // always open: nothing pops up
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Map layers");
  }

  var base = config.tileUrl ? Promise.resolve(null) : getJSON(config.baseUrl).catch(function () { return null; });
  base.then(function (geo) {
    if (geo) {
      var outlines = baseLayer(geo).addTo(map);
      layers.addOverlay(outlines, "Outlines of boroughs and wards");
    }
  });

  Promise.all([getJSON(config.boundariesUrl), getJSON(config.dataUrl), base]).then(function (results) {
    var geo = results[0];
    var data = results[1];
    var points = data.grid && data.grid.length ? pointsLayer(data.grid).addTo(map) : null;
    if (points) { layers.addOverlay(points, "Incident locations"); }
    if (data.refused) {
      // Too few incidents to shade areas at this level for this access: say why.
      status.textContent = data.refused;
      addLayerControl();
      el.setAttribute("data-loaded", "true");
      return;
    }
    var numbers = Object.keys(data.areas).map(function (k) { return data.areas[k]; })
      .filter(function (v) { return typeof v === "number"; });
    var top = numbers.length ? Math.max.apply(null, numbers) : 0;
    var breaks = breaksFor(top);
    var hasSuppressed = Object.keys(data.areas).some(function (k) { return data.areas[k] === "*"; });
    var areas = L.geoJSON(geo, {
      style: function (feature) {
        var cls = classOf(data.areas[feature.properties.code], breaks);
        return {
          className: "map-area map-area--" + cls, color: "#505a5f", weight: 1,
          fillColor: mapFillOf(cls), fillOpacity: 0.7, dashArray: cls === "s" ? "4 3" : null
        };
      }
    }).bindTooltip(function (l) {
      var code = l.feature.properties.code;
      var value = data.areas[code];
      return l.feature.properties.name + ": " + (value === undefined ? 0 : value);
    }).addTo(map);
    layers.addOverlay(areas, "Areas shaded by count");
    addLayerControl();
    if (geo.features && geo.features.length) {
      // The viewer's areas, but no closer than a borough view: points start clustered.
      map.fitBounds(areas.getBounds(), { padding: [10, 10], maxZoom: POINTS_FROM_ZOOM - 2 });
    }
    legend(breaks, hasSuppressed);
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
    if (points) {
      message += " Markers show where incidents were located, at the precision your access " +
        "allows; nearby ones are grouped with their total until you zoom in";
      message += data.gridCapped ? " (the newest " + data.gridLimit.toLocaleString("en-GB") + " only)." : ".";
    }
    message += " The table below the map gives the same counts.";
    status.textContent = message;
    el.setAttribute("data-loaded", "true");
  }).catch(function () {
    status.textContent = "The map could not be loaded. The counts are still available on the other tabs.";
  });
})();
