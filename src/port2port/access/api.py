"""Gate API: a gate controller (an organisation token with `access:gate:decide`) or the desk asks."""

from datetime import datetime

from ninja import Router, Schema

from . import services

router = Router(tags=["access"])


class DecideIn(Schema):
    gate: str
    badge: str | None = None
    plate: str | None = None
    direction: str = "in"
    at: datetime | None = None


class DecideOut(Schema):
    decision: str
    reasons: list[str]
    messages: list[str]


@router.post("/decide", response=DecideOut)
def decide(request, payload: DecideIn):
    from port2port.core.errors import Invalid

    if (payload.badge is None) == (payload.plate is None):
        from django.utils.translation import gettext as _

        raise Invalid(_("give a badge or a plate"), field="badge")
    kind, value = (
        ("badge", payload.badge) if payload.badge is not None else ("plate", payload.plate)
    )
    decision = services.gate_decide(
        actor=request.auth,
        gate_code=payload.gate,
        kind=kind,
        value=value,
        direction=payload.direction,
        at=payload.at,
    )
    return {
        "decision": "grant" if decision.granted else "deny",
        "reasons": [str(r) for r in decision.reasons],
        "messages": [services.reason_text(r) for r in decision.reasons],
    }
