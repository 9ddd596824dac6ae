/* The small map of an items or item page: the page's own GeoJSON (embedded as
   application/json), drawn with the platform's vendored Leaflet, no basemap, fit to bounds. */
(function () {
  "use strict";
  var holder = document.getElementById("ogc-map");
  var source = document.getElementById("ogc-map-data");
  if (!holder || !source) return;
  if (!window.L) { holder.hidden = true; return; }
  var doc = JSON.parse(source.textContent);
  var style = doc.style;
  var map = L.map(holder, { attributionControl: false, zoomSnap: 0.25, scrollWheelZoom: false });

  function pathStyle(feature) {
    var color = (feature.properties && feature.properties.color) || style.color;
    return {
      color: color,
      weight: style.weight,
      opacity: style.opacity,
      fillColor: (feature.properties && feature.properties.color) || style.fill_color || color,
      fillOpacity: style.fill_opacity,
      radius: style.radius
    };
  }

  function label(feature) {
    var element = document.createElement(feature.properties.url ? "a" : "span");
    element.textContent = feature.properties.title;
    if (feature.properties.url) element.href = feature.properties.url;
    return element;
  }

  if (doc.outline) {  // the hromada's outline, for orientation only
    L.geoJSON(doc.outline, {
      interactive: false,
      style: { color: "#56606b", weight: 1.5, opacity: 0.8, dashArray: "5 4", fill: false }
    }).addTo(map);
  }

  function bind(feature, drawn) {
    if (!feature.properties || !feature.properties.title) return;
    var tip = document.createElement("span");
    tip.textContent = feature.properties.title;  // text, never HTML from the data
    drawn.bindTooltip(tip);
    if (feature.properties.url) drawn.bindPopup(function () { return label(feature); });
  }

  if (doc.context && doc.context.length) {  // neighbours of an item page's feature, faint
    L.geoJSON(doc.context, {
      style: { color: "#7d8790", weight: 1.5, opacity: 0.8, fillColor: "#aab2ba", fillOpacity: 0.5,
        radius: Math.max(3, style.radius - 2) },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { color: "#7d8790", weight: 1, fillColor: "#aab2ba",
          fillOpacity: 0.7, radius: Math.max(3, style.radius - 2) });
      },
      onEachFeature: bind
    }).addTo(map);
  }

  var layer = L.geoJSON(doc.features, {
    style: pathStyle,
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, pathStyle(feature));
    },
    onEachFeature: bind
  }).addTo(map);
  layer.bringToFront();

  var Scale = L.Control.Scale.extend({
    _updateMetric: function (maxMeters) {
      var meters = this._getRoundNum(maxMeters);
      var text = meters < 1000 ? meters + "\u00a0" + doc.scale[0]
        : String(meters / 1000).replace(".", doc.decimal) + "\u00a0" + doc.scale[1];
      this._updateScale(this._mScale, text, meters / maxMeters);
    }
  });
  new Scale({ imperial: false }).addTo(map);

  var bounds = layer.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: doc.features.length > 1 ? 16 : 15 });
  } else {
    map.setView([doc.centre[1], doc.centre[0]], doc.zoom);
  }
  holder.setAttribute("data-drawn", String(layer.getLayers().length));
})();
