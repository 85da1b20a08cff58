"""The signed offline allow-list of one gate: who may pass when, for the next hours.

A gate controller fetches it with its device token while the platform is reachable and keeps
deciding from it when it is not. Each entry holds HMAC-SHA256 of `kind:credential`, keyed with the
SHA-256 (hex) of the device's token: the list spells out no badge number, and whoever copies it
without the token cannot test guesses against it. It also holds the time slots in which the engine grants it, evaluated slot by slot with the same `decide()`
the gate asks online. Anti-passback needs the platform's live presence, so the list ignores it.
The payload is signed with Ed25519 (libsodium through PyNaCl); the gate checks the signature with
the platform's public key (`/api/v1/access/signing-key`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from django.conf import settings
from nacl.signing import SigningKey, VerifyKey

from . import engine

SLOT_MINUTES = 15
MAX_HOURS = 72


def signing_key() -> SigningKey:
    """ACCESS_SIGNING_KEY (a base64 seed of 32 bytes), else one derived from SECRET_KEY."""
    seed = getattr(settings, "ACCESS_SIGNING_KEY", "")
    if seed:
        return SigningKey(base64.b64decode(seed))
    return SigningKey(hashlib.sha256(f"allow-list:{settings.SECRET_KEY}".encode()).digest())


def public_key() -> dict:
    key = signing_key().verify_key
    raw = bytes(key)
    return {
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(raw).decode(),
        "key_id": hashlib.sha256(raw).hexdigest()[:16],
    }


def credential_digest(key: str, kind: str, value: str) -> str:
    """`key` is the SHA-256 (hex) of the device token, which the device computes itself."""
    return hmac.new(key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _candidates(snap: engine.Snapshot, zones: tuple) -> set:
    """People with a rule (own or through a group) on a zone the gate leads into, or around it."""
    covering = {z for zone in zones for z in snap.zone_chain.get(zone, (zone,))}
    # copies: another thread may update the snapshot meanwhile
    people = {pid for pid, rules in list(snap.rights.items()) if covering.intersection(rules)}
    groups = {gid for gid, rules in list(snap.group_rights.items()) if covering.intersection(rules)}
    if groups:
        people |= {pid for pid, gids in list(snap.groups_of.items()) if groups.intersection(gids)}
    return people


def build(snap: engine.Snapshot, gate_code: str, start: datetime, hours: int, key: str) -> dict:
    """The unsigned payload: `start` is an aware local time, rounded down to a slot."""
    gate = snap.gates[gate_code]
    start = start.replace(
        minute=start.minute - start.minute % SLOT_MINUTES, second=0, microsecond=0
    )
    slots = [start + timedelta(minutes=SLOT_MINUTES * n) for n in range(hours * 60 // SLOT_MINUTES)]
    end = start + timedelta(hours=hours)
    entries = []
    for pid in sorted(_candidates(snap, gate[1]), key=str):
        for kind, value in list(snap.numbers_of.get(pid, ())):
            allow, open_at = [], None
            for slot in slots:
                granted = engine.decide(snap, gate_code, kind, value, "in", slot).granted
                if granted and open_at is None:
                    open_at = slot
                elif not granted and open_at is not None:
                    allow.append([open_at.isoformat(), slot.isoformat()])
                    open_at = None
            if open_at is not None:
                allow.append([open_at.isoformat(), end.isoformat()])
            if allow:
                entries.append({"credential": credential_digest(key, kind, value), "allow": allow})
    return {
        "gate": gate_code,
        "generated_at": start.isoformat(),
        "valid_until": end.isoformat(),
        "slot_minutes": SLOT_MINUTES,
        "digest": "hmac-sha256(key=sha256-hex(device token), kind:credential)",
        "entries": entries,
    }


def sign(payload: dict) -> dict:
    signed = signing_key().sign(canonical(payload))
    return {
        "payload": payload,
        "signature": base64.b64encode(signed.signature).decode(),
        "key_id": public_key()["key_id"],
    }


def verify(document: dict, public_key_b64: str) -> dict:
    """What a gate does: check the signature, then use the payload. Raises on a forged list."""
    key = VerifyKey(base64.b64decode(public_key_b64))
    key.verify(canonical(document["payload"]), base64.b64decode(document["signature"]))
    return document["payload"]


def allowed_offline(payload: dict, key: str, kind: str, value: str, at: datetime) -> bool:
    """The gate's offline decision from a verified list."""
    if at >= datetime.fromisoformat(payload["valid_until"]):
        return False
    digest = credential_digest(key, kind, value)
    for entry in payload["entries"]:
        if entry["credential"] == digest:
            return any(
                datetime.fromisoformat(a) <= at < datetime.fromisoformat(b)
                for a, b in entry["allow"]
            )
    return False
