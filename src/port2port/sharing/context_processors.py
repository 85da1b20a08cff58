"""The sharing sub-navigation's state (may post, unread notifications) on sharing pages."""

from __future__ import annotations

from port2port.core.roles import Perm
from port2port.core.visibility import reach


def sharing_nav(request) -> dict:
    user = getattr(request, "user", None)
    if not request.path.startswith("/sharing/") or user is None or not user.is_authenticated:
        return {}
    from .selectors import notifications_for

    return {
        "can_post": bool(reach(user, Perm.SHARING_ITEM_CREATE)),
        "unread": notifications_for(user, unread_only=True).count(),
    }
