"""Live updates for the control room: alarms, vessel positions, device health (issue 6, part 6).

`publish()` is called by whoever changed something (the ingest pipeline after its commit, an
operator's service); every connected control-room page of this process gets the message through
`subscribe()`. On the embedded default that is all there is. When `LIVE_REDIS_URL` is set, each
message goes through Redis pub/sub instead, so that every web node pushes every alarm, whichever
node or ingest worker raised it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time

from django.conf import settings

log = logging.getLogger(__name__)
CHANNEL = "port2port:live"
QUEUE_LIMIT = 1000  # a client that falls this far behind is dropped (it reconnects and reloads)


class _Subscriber:
    __slots__ = ("dropped", "loop", "queue")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self.dropped = False

    def offer(self, message: dict) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True


class _SyncSubscriber:
    """For a page served by a WSGI server (a thread per request): a blocking queue."""

    __slots__ = ("dropped", "queue")

    def __init__(self):
        self.queue: queue.Queue = queue.Queue(QUEUE_LIMIT)
        self.dropped = False

    def offer(self, message: dict) -> None:
        try:
            self.queue.put_nowait(message)
        except queue.Full:
            self.dropped = True


class Hub:
    """Fans messages out to this process's subscribers; thread-safe on the publishing side."""

    def __init__(self):
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()
        self._redis = None
        self._listener: threading.Thread | None = None

    # --- subscribing (inside the ASGI event loop) ------------------------------------------------

    def subscribe(self) -> _Subscriber:
        subscriber = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        if _redis_url():
            self._listen()
        return subscriber

    def subscribe_sync(self) -> _SyncSubscriber:
        subscriber = _SyncSubscriber()
        with self._lock:
            self._subscribers.add(subscriber)
        if _redis_url():
            self._listen()
        return subscriber

    def unsubscribe(self, subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def deliver(self, message: dict) -> None:
        """Hand a message to every subscriber of this process."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if isinstance(subscriber, _SyncSubscriber):
                subscriber.offer(message)
                continue
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.offer, message)
            except RuntimeError:  # its loop is closed: the page went away
                self.unsubscribe(subscriber)

    # --- publishing (any thread) -----------------------------------------------------------------

    def publish(self, messages: list[dict]) -> None:
        if not messages:
            return
        url = _redis_url()
        if not url:
            for message in messages:
                self.deliver(message)
            return
        try:
            client = self._client(url)
            pipe = client.pipeline(transaction=False)
            for message in messages:
                pipe.publish(CHANNEL, json.dumps(message, default=str))
            pipe.execute()
        except Exception:  # the live picture must never stop an alarm from being stored
            log.warning("live: Redis unreachable; delivering in this process only", exc_info=True)
            for message in messages:
                self.deliver(message)

    def _client(self, url: str):
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(url, socket_timeout=2)
        return self._redis

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            self._listener = threading.Thread(target=self._run, name="live-redis", daemon=True)
            self._listener.start()

    def _run(self) -> None:
        import redis

        while True:
            try:
                client = redis.Redis.from_url(_redis_url())
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                for item in pubsub.listen():
                    try:
                        self.deliver(json.loads(item["data"]))
                    except (ValueError, KeyError, TypeError):
                        continue
            except Exception:
                log.warning("live: Redis subscription lost; retrying", exc_info=True)
                time.sleep(1)


def _redis_url() -> str:
    return getattr(settings, "LIVE_REDIS_URL", "") or ""


hub = Hub()


def publish(messages: list[dict]) -> None:
    hub.publish(messages)
