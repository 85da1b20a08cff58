// Service worker of alarm notifications: shows each push, opens the alarm when clicked.
"use strict";

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  if (event.data) {
    try {
      data = event.data.json();
    } catch (error) {
      data = { body: event.data.text() };
    }
  }
  const options = {
    body: data.body || "",
    data: { url: data.url || "/" },
    requireInteraction: true,
  };
  if (data.tag) {
    options.tag = data.tag; // a later notice of the same alarm replaces the earlier one
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(data.title || "Port 2 Port", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (url.origin !== self.location.origin) {
    return; // only pages of the platform
  }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === url.href && "focus" in client);
      return open ? open.focus() : self.clients.openWindow(url.href);
    }),
  );
});
