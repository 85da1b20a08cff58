// Web push for alarms: the #push-enable button subscribes this browser.
//
// <button id="push-enable" type="button"
//         data-key-url="…push key URL…" data-subscribe-url="…subscribe URL…"
//         data-worker-url="{% static 'js/alarm-sw.js' %}" data-status="push-status"
//         data-done="…" data-denied="…" data-unsupported="…" data-failed="…">
// The data-done/denied/unsupported/failed texts (translated by the template) are shown in the
// element named by data-status.
(function () {
  "use strict";

  const button = document.getElementById("push-enable");
  if (!button) {
    return;
  }
  const status = document.getElementById(button.dataset.status || "");

  function say(text) {
    if (status) {
      status.textContent = text || "";
    }
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    button.disabled = true;
    say(button.dataset.unsupported);
    return;
  }

  // Django's CSRF token: from the cookie when scripts may read it, else from a form on the page
  // (the platform sets CSRF_COOKIE_HTTPONLY).
  function csrfToken() {
    const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    if (cookie) {
      return decodeURIComponent(cookie.slice("csrftoken=".length));
    }
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function keyBytes(base64url) {
    const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  function sameBytes(buffer, bytes) {
    if (!buffer) {
      return false;
    }
    const other = new Uint8Array(buffer);
    return other.length === bytes.length && other.every((value, i) => value === bytes[i]);
  }

  // The worker lives under /static/js/, so that is its scope; push needs no wider one, but it
  // must be active before the browser subscribes.
  function activated(registration) {
    if (registration.active) {
      return Promise.resolve(registration);
    }
    const worker = registration.installing || registration.waiting;
    return new Promise((resolve, reject) => {
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated") {
          resolve(registration);
        } else if (worker.state === "redundant") {
          reject(new Error("the service worker could not be installed"));
        }
      });
    });
  }

  async function json(response) {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.message || response.statusText);
    }
    return body;
  }

  async function enable() {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say(button.dataset.denied);
      return;
    }
    const { key } = await json(await fetch(button.dataset.keyUrl, { credentials: "same-origin" }));
    if (!key) {
      throw new Error("web push is not configured on the server");
    }
    const serverKey = keyBytes(key);
    const registration = await activated(
      await navigator.serviceWorker.register(button.dataset.workerUrl || "/static/js/alarm-sw.js"),
    );
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options.applicationServerKey, serverKey)) {
      await subscription.unsubscribe(); // made with a key the server no longer has
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: serverKey,
      });
    }
    await json(
      await fetch(button.dataset.subscribeUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(subscription.toJSON()),
      }),
    );
    say(button.dataset.done);
  }

  button.addEventListener("click", () => {
    button.disabled = true;
    enable()
      .catch((error) => {
        say(`${button.dataset.failed || ""} ${error.message}`.trim());
      })
      .finally(() => {
        button.disabled = false;
      });
  });
})();
