"""The browser's side of web push: the server's public key, and (un)subscribing a browser."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from port2port.core.errors import AppError

from . import notify

MAX_BODY = 4096  # a PushSubscription.toJSON() is well under 1 kB


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": "bad_request", "message": message, "fields": {}}, status=400)


@login_required
@require_GET
def push_key_view(request):
    return JsonResponse({"key": notify.vapid_public_key()})


@login_required
@require_http_methods(["POST", "DELETE"])
def push_subscribe_view(request):
    """POST the browser's `PushSubscription.toJSON()` to subscribe; DELETE, or POST with
    `"unsubscribe": true`, with its endpoint to unsubscribe."""
    if len(request.body) > MAX_BODY:
        return _bad_request(_("the request is larger than %(n)s bytes") % {"n": MAX_BODY})
    try:
        data = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, ValueError):
        return _bad_request(_("the request is not JSON"))
    if not isinstance(data, dict):
        return _bad_request(_("the request must be a JSON object"))
    try:
        if request.method == "DELETE" or data.get("unsubscribe") is True:
            removed = notify.push_subscription_remove(
                actor=request.user, endpoint=data.get("endpoint")
            )
            return JsonResponse({"subscribed": False, "removed": removed})
        keys = data.get("keys")
        if not isinstance(keys, dict):
            keys = {}
        notify.push_subscription_set(
            actor=request.user,
            endpoint=data.get("endpoint"),
            p256dh=keys.get("p256dh"),
            auth=keys.get("auth"),
        )
    except AppError as error:
        return JsonResponse(error.as_dict(), status=error.status)
    return JsonResponse({"subscribed": True}, status=201)
