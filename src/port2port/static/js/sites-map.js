// Leaflet's zoom buttons in the page's language (base.html gives the words).
if (window.L && document.body && document.body.dataset.zoomIn) {
  L.Control.Zoom.mergeOptions({
    zoomInTitle: document.body.dataset.zoomIn,
    zoomOutTitle: document.body.dataset.zoomOut,
  });
}
// The port map: our own GeoJSON on Leaflet (served from our static files). No outside tiles
// unless the platform is configured with a tile server.
(function () {
  const element = document.getElementById("port-map");
  if (!element || typeof L === "undefined") return;
  const map = L.map(element, { attributionControl: false, zoomSnap: 0.25 });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { maxZoom: 19 }).addTo(map);
  }
  const styles = {
    area: { color: "#4a5a78", weight: 1, fillOpacity: 0.05 },
    facility: { color: "#0b3d91", weight: 2, fillOpacity: 0.1 },
    zone: { color: "#0d6e2a", weight: 1, fillOpacity: 0.15 },
    restricted: { color: "#a10f0f", weight: 2, fillOpacity: 0.2 },
  };
  function style(feature) {
    const p = feature.properties;
    if (p.kind === "zone" && (p.restricted || p.critical)) return styles.restricted;
    return styles[p.kind] || styles.area;
  }
  function text(value) {
    const span = document.createElement("span");
    span.textContent = value;
    return span.innerHTML;
  }
  fetch(element.dataset.geojson, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((collection) => {
      const layer = L.geoJSON(collection, {
        style: style,
        pointToLayer: (feature, latlng) =>
          L.circleMarker(latlng, { radius: 6, color: "#f2a900", weight: 2, fillColor: "#1a1200", fillOpacity: 0.9 }),
        onEachFeature: (feature, featureLayer) => {
          const p = feature.properties;
          featureLayer.bindPopup("<strong>" + text(p.name) + "</strong><br>" + text(p.kind) + " · " + text(p.code));
        },
      }).addTo(map);
      const bounds = layer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
      else map.setView([51.05, 4.4], 8);
      element.dataset.features = String(collection.features.length);
    });
})();
