// Leaflet's zoom buttons in the page's language (base.html gives the words).
if (window.L && document.body && document.body.dataset.zoomIn) {
  L.Control.Zoom.mergeOptions({
    zoomInTitle: document.body.dataset.zoomIn,
    zoomOutTitle: document.body.dataset.zoomOut,
  });
}
// The reporter's form (/report/<channel>/). The one thing it needs JavaScript for is the proof of
// work of reporting/pow.py: find a nonce such that SHA-256(challenge + ":" + nonce) starts with
// `data-bits` zero bits, put it in the form, then send it. Also, as enhancements the form works
// without: conditional questions are hidden until they apply, and a click on the map (when the
// platform serves its own map tiles) fills in latitude and longitude.
(function () {
  "use strict";
  const form = document.getElementById("report-form");
  if (!form) return;
  document.documentElement.classList.add("js");

  // Proof of work -------------------------------------------------------------------------------
  const status = document.getElementById("report-status");
  const BATCH = 512; // digests computed together before the page gets a turn to repaint

  function leadingZeroBits(bytes) {
    let count = 0;
    for (const byte of bytes) {
      if (byte === 0) {
        count += 8;
        continue;
      }
      return count + Math.clz32(byte) - 24;
    }
    return count;
  }

  function pause() {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }

  async function solve(challenge, bits) {
    const encoder = new TextEncoder();
    for (let start = 0; ; start += BATCH) {
      const batch = [];
      for (let nonce = start; nonce < start + BATCH; nonce++) {
        batch.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge + ":" + nonce)));
      }
      const digests = await Promise.all(batch);
      for (let i = 0; i < digests.length; i++) {
        if (leadingZeroBits(new Uint8Array(digests[i])) >= bits) return String(start + i);
      }
      await pause();
    }
  }

  let working = false;
  form.addEventListener("submit", (event) => {
    if (form.dataset.solved === "1") return;
    event.preventDefault();
    if (working) return;
    if (!window.crypto || !window.crypto.subtle || !window.TextEncoder) {
      status.textContent = form.dataset.unsupported;
      return;
    }
    working = true;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.setAttribute("aria-busy", "true");
    status.textContent = form.dataset.working;
    solve(form.elements.namedItem("challenge").value, parseInt(form.dataset.bits, 10) || 0).then((nonce) => {
      form.elements.namedItem("nonce").value = nonce;
      form.dataset.solved = "1";
      // no second submit event; the browser has already checked the fields. Through the prototype:
      // a question may be named "submit".
      HTMLFormElement.prototype.submit.call(form);
    });
  });

  // Conditional questions ----------------------------------------------------------------------
  function currentValue(key) {
    const field = form.elements.namedItem(key); // a radio group gives a RadioNodeList
    return field ? field.value : "";
  }

  function applyConditions() {
    form.querySelectorAll("[data-show-if-key]").forEach((question) => {
      const wanted = question.dataset.showIfIn.split("|");
      const asked = wanted.includes(currentValue(question.dataset.showIfKey));
      question.classList.toggle("report-not-asked", !asked);
    });
    form.querySelectorAll("[data-show-if-checked]").forEach((block) => {
      const box = document.getElementById(block.dataset.showIfChecked);
      block.classList.toggle("report-not-asked", !!box && !box.checked);
    });
  }
  form.addEventListener("change", applyConditions);
  applyConditions();

  // Map ----------------------------------------------------------------------------------------
  const element = document.getElementById("report-map");
  if (!element || typeof L === "undefined") return;
  if (!element.dataset.tiles && !element.dataset.outlines) return;
  element.hidden = false;
  const help = document.getElementById("report-map-help");
  if (help) help.hidden = false;
  const latitude = form.elements.namedItem("latitude");
  const longitude = form.elements.namedItem("longitude");
  const map = L.map(element, { attributionControl: false });
  if (element.dataset.tiles) L.tileLayer(element.dataset.tiles, { maxZoom: 19 }).addTo(map);
  // the port areas, drawn from our own data: a map even without any tile server
  let outlines = null;
  if (element.dataset.outlines) {
    outlines = L.geoJSON(JSON.parse(element.dataset.outlines), {
      style: { color: "#1d4f91", weight: 2, fillOpacity: 0.08 },
      onEachFeature: (feature, layer) => layer.bindTooltip(feature.properties.name),
    }).addTo(map);
  }
  let marker = null;
  function place(lat, lng) {
    if (marker) marker.setLatLng([lat, lng]);
    else marker = L.circleMarker([lat, lng], { radius: 8, color: "#a10f0f", weight: 3 }).addTo(map);
  }
  const lat0 = parseFloat(latitude.value);
  const lng0 = parseFloat(longitude.value);
  if (Number.isFinite(lat0) && Number.isFinite(lng0)) {
    map.setView([lat0, lng0], 14);
    place(lat0, lng0);
  } else if (outlines && outlines.getBounds().isValid()) {
    map.fitBounds(outlines.getBounds(), { padding: [10, 10] });
  } else {
    map.setView([51.05, 4.4], 8); // the Belgian ports, from Ostend to Liège
  }
  map.on("click", (event) => {
    latitude.value = event.latlng.lat.toFixed(5);
    longitude.value = event.latlng.lng.toFixed(5);
    place(event.latlng.lat, event.latlng.lng);
  });
  [latitude, longitude].forEach((input) =>
    input.addEventListener("change", () => {
      const lat = parseFloat(latitude.value);
      const lng = parseFloat(longitude.value);
      if (Number.isFinite(lat) && Number.isFinite(lng)) place(lat, lng);
    }),
  );
})();
