// Leaflet's zoom buttons in the page's language (base.html gives the words).
if (window.L && document.body && document.body.dataset.zoomIn) {
  L.Control.Zoom.mergeOptions({
    zoomInTitle: document.body.dataset.zoomIn,
    zoomOutTitle: document.body.dataset.zoomOut,
  });
}
// The control room: the live alarm queue, the port map with devices, open alarms and vessels,
// and an alarm's page that follows its alarm. Everything comes from the server-sent events of
// #control-room[data-stream-url] (or #alarm-detail); the browser reconnects by itself after a
// break, and the queue is then reloaded from data-queue-url. Every page works without this file.
(function () {
  "use strict";

  const RANK = { new: 0, acknowledged: 1, in_progress: 2 };
  const VESSEL_FORGET_MS = 15 * 60 * 1000;

  // Leaflet puts a string tooltip in as HTML: names come from devices and ships, so pass text.
  function plain(value) {
    const span = document.createElement("span");
    span.textContent = String(value);
    return span;
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  // --- the live connection ----------------------------------------------------------------------

  function connect(url, handlers) {
    const status = document.getElementById("live-status");
    function show(state) {
      if (!status) return;
      status.dataset.state = state;
      status.textContent = status.dataset[state] || state;
    }
    const source = new EventSource(url);
    let broken = false;
    source.addEventListener("open", () => {
      show("live");
      if (broken && handlers.reconnected) handlers.reconnected();
      broken = false;
    });
    source.addEventListener("error", () => {
      show("reconnecting");
      broken = true;
    });
    source.addEventListener("alarm", (event) => handlers.alarm && handlers.alarm(JSON.parse(event.data)));
    source.addEventListener("vessel", (event) => handlers.vessel && handlers.vessel(JSON.parse(event.data)));
    window.addEventListener("pagehide", () => source.close());
    return source;
  }

  // --- the map ----------------------------------------------------------------------------------

  function portMap(element) {
    if (!element || typeof L === "undefined") return null;
    const data = JSON.parse(document.getElementById(element.dataset.map).textContent);
    const map = L.map(element, { attributionControl: false, zoomSnap: 0.25 });
    if (element.dataset.tiles) L.tileLayer(element.dataset.tiles, { maxZoom: 19 }).addTo(map);
    function siteClass(feature) {
      const p = feature.properties;
      if (p.kind === "zone" && (p.restricted || p.critical)) return "site site-restricted";
      return "site site-" + p.kind;
    }
    const area = L.geoJSON(data.area, {
      style: (feature) => ({ className: siteClass(feature), weight: 1, fillOpacity: 0.12 }),
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, { radius: 4, className: "site site-gate" }),
      onEachFeature: (feature, layer) => layer.bindTooltip(plain(feature.properties.name)),
    }).addTo(map);
    const devices = L.geoJSON(data.devices, {
      style: (feature) => ({ className: "device-line device-" + feature.properties.kind, weight: 4 }),
      pointToLayer: (feature, latlng) =>
        L.marker(latlng, {
          icon: L.divIcon({ className: "device-marker device-" + feature.properties.kind, iconSize: [12, 12] }),
          keyboard: false,
        }),
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        layer.bindTooltip(plain(p.code + " · " + p.kind_label));
      },
    }).addTo(map);
    let bounds = area.getBounds();
    if (!bounds.isValid()) bounds = devices.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
    else map.setView([51.05, 4.4], 8);

    const alarms = new Map();
    const vessels = new Map();

    function popup(summary, url) {
      const link = document.createElement("a");
      link.href = url;
      link.textContent = summary;
      return link;
    }
    function count() {
      element.dataset.alarms = String(alarms.size);
      element.dataset.vessels = String(vessels.size);
    }
    function alarm(id, lat, lon, summary, url) {
      if (lat === null || lat === undefined || lon === null || lon === undefined) return;
      let marker = alarms.get(id);
      if (!marker) {
        marker = L.marker([lat, lon], {
          icon: L.divIcon({ className: "alarm-marker", iconSize: [18, 18] }),
          title: summary,
          zIndexOffset: 1000,
        }).addTo(map);
        alarms.set(id, marker);
      } else {
        marker.setLatLng([lat, lon]);
      }
      marker.bindPopup(popup(summary, url));
      count();
    }
    function forget(id) {
      const marker = alarms.get(id);
      if (marker) {
        marker.remove();
        alarms.delete(id);
        count();
      }
    }
    function keep(ids) {
      for (const id of Array.from(alarms.keys())) if (!ids.has(id)) forget(id);
    }
    function vessel(message) {
      const now = Date.now();
      let entry = vessels.get(message.mmsi);
      const label = (message.name || "MMSI " + message.mmsi) + (message.speed != null ? " · " + message.speed + " kn" : "");
      if (!entry) {
        const marker = L.circleMarker([message.lat, message.lon], { radius: 5, className: "vessel-marker" }).addTo(map);
        entry = { marker: marker, seen: now };
        vessels.set(message.mmsi, entry);
      } else {
        entry.marker.setLatLng([message.lat, message.lon]);
        entry.seen = now;
      }
      entry.marker.bindTooltip(plain(label));
      count();
    }
    window.setInterval(() => {
      const now = Date.now();
      for (const [mmsi, entry] of vessels) {
        if (now - entry.seen > VESSEL_FORGET_MS) {
          entry.marker.remove();
          vessels.delete(mmsi);
        }
      }
      count();
    }, 60 * 1000);

    for (const item of data.alarms) alarm(item.id, item.lat, item.lon, item.summary, item.url);
    count();
    return { port: data.port, alarm: alarm, forget: forget, keep: keep, vessel: vessel };
  }

  // --- the queue --------------------------------------------------------------------------------

  function key(row) {
    return [RANK[row.dataset.state] ?? 9, Number(row.dataset.priority), -Date.parse(row.dataset.lastAt || 0)];
  }

  function before(a, b) {
    const x = key(a);
    const y = key(b);
    for (let i = 0; i < x.length; i += 1) {
      if (x[i] !== y[i]) return x[i] < y[i];
    }
    return false;
  }

  function controlRoom(root) {
    const body = document.getElementById("alarm-queue");
    const announcer = document.getElementById("queue-announcer");
    const queuePort = root.dataset.queuePort;
    const map = portMap(document.getElementById("control-room-map"));

    function rows() {
      return Array.from(body.querySelectorAll("tr[data-alarm]"));
    }
    function empty() {
      const placeholder = document.getElementById("queue-empty");
      if (placeholder) placeholder.hidden = rows().length > 0;
    }
    function place(row) {
      const next = rows().find((other) => other !== row && before(row, other));
      const placeholder = document.getElementById("queue-empty");
      body.insertBefore(row, next || placeholder || null);
    }
    function onMap(row) {
      if (!map || row.dataset.port !== map.port || row.dataset.lat === undefined) return;
      map.alarm(row.dataset.alarm, Number(row.dataset.lat), Number(row.dataset.lon), row.dataset.summary, row.dataset.url);
    }
    function alarm(data) {
      const old = document.getElementById("alarm-" + data.id);
      if (data.state === "closed" || !data.html) {
        if (old) old.remove();
        if (map) map.forget(data.id);
        empty();
        return;
      }
      if (queuePort && data.port !== queuePort) {
        if (map && data.port === map.port) onMap(fragment(data.html).firstElementChild);
        return;
      }
      const row = fragment(data.html).firstElementChild;
      if (old) old.remove();
      place(row);
      onMap(row);
      empty();
      if (data.new && announcer) announcer.textContent = row.dataset.summary;
      if (data.new) {
        row.classList.add("alarm-arrived");
        window.setTimeout(() => row.classList.remove("alarm-arrived"), 4000);
      }
    }
    function reload() {
      // After a break, or now and then: the queue as the server has it (ages, missed changes).
      fetch(root.dataset.queueUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((html) => {
          const fresh = fragment("<table><tbody>" + html + "</tbody></table>").querySelector("tbody");
          body.replaceChildren(...fresh.children);
          if (map && (!queuePort || queuePort === map.port)) map.keep(new Set(rows().map((row) => row.dataset.alarm)));
          rows().forEach(onMap);
          empty();
        })
        .catch(() => {});
    }
    window.setInterval(reload, 60 * 1000);
    connect(root.dataset.streamUrl, {
      alarm: alarm,
      vessel: (data) => {
        if (map && data.port === map.port && data.lat != null && data.lon != null) map.vessel(data);
      },
      reconnected: reload,
    });
  }

  // --- an alarm's page --------------------------------------------------------------------------

  function alarmPage(root) {
    let pending = false;
    function refresh() {
      if (pending) return;
      pending = true;
      fetch(root.dataset.liveUrl, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((html) => {
          const parts = fragment(html);
          for (const id of ["alarm-state", "alarm-steps", "alarm-timeline"]) {
            const fresh = parts.getElementById ? parts.getElementById(id) : parts.querySelector("#" + id);
            const old = document.getElementById(id);
            if (!fresh || !old) continue;
            fresh.removeAttribute("hx-swap-oob");
            old.replaceWith(fresh);
            if (window.htmx) window.htmx.process(fresh);
          }
        })
        .catch(() => {})
        .finally(() => {
          pending = false;
        });
    }
    connect(root.dataset.streamUrl, {
      alarm: (data) => {
        if (data.id === root.dataset.alarm) refresh();
      },
      reconnected: refresh,
    });
  }

  const room = document.getElementById("control-room");
  if (room) controlRoom(room);
  const detail = document.getElementById("alarm-detail");
  if (detail) alarmPage(detail);
})();
