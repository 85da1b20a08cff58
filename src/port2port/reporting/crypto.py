"""Encryption of reports with libsodium (PyNaCl).

- Each report has its own 32-byte key (XSalsa20-Poly1305 `SecretBox`) for its contents, messages
  and attachments.
- That key is sealed (`SealedBox`, X25519) to the public key of each team that may read it.
- A team's private key is stored only inside a `SecretBox` under the platform's reporting key,
  which is not in the database: REPORTING_KEY (base64 of 32 bytes) or `var/reporting.key`.
- The receipt: 16 digits from `secrets`. Argon2id (libsodium's `pwhash`) derives 64 bytes from it:
  the SHA-256 of the first half finds the report, the second half unwraps the report key for the
  reporter. The salt is the installation's, so the same receipt always finds its report; the cost
  (RECEIPT_OPSLIMIT, RECEIPT_MEMLIMIT) makes each guess expensive.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from nacl import pwhash, utils
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox

RECEIPT_DIGITS = 16
# Argon2id cost of a receipt: 3 passes over 64 MiB (libsodium's "moderate" is 3 / 256 MiB).
RECEIPT_OPSLIMIT = 3
RECEIPT_MEMLIMIT = 64 * 1024 * 1024


def _key_file() -> Path:
    return Path(settings.VAR_DIR) / "reporting.key"


@lru_cache(maxsize=1)
def platform_key() -> bytes:
    """The key that wraps team private keys; never stored in the database."""
    configured = getattr(settings, "REPORTING_KEY", "")
    if configured:
        key = base64.b64decode(configured)
    else:
        path = _key_file()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(utils.random(SecretBox.KEY_SIZE)))
        key = base64.b64decode(path.read_bytes())
    if len(key) != SecretBox.KEY_SIZE:
        raise ValueError("REPORTING_KEY must be base64 of 32 bytes")
    return key


def team_keys() -> tuple[bytes, bytes]:
    """A new team key pair: (public key, private key boxed under the platform key)."""
    private = PrivateKey.generate()
    return bytes(private.public_key), bytes(SecretBox(platform_key()).encrypt(bytes(private)))


def _team_private(private_key_box: bytes) -> PrivateKey:
    return PrivateKey(SecretBox(platform_key()).decrypt(bytes(private_key_box)))


def new_report_key() -> bytes:
    return utils.random(SecretBox.KEY_SIZE)


def seal(public_key: bytes, report_key: bytes) -> bytes:
    return bytes(SealedBox(PublicKey(bytes(public_key))).encrypt(report_key))


def unseal(private_key_box: bytes, sealed: bytes) -> bytes:
    return SealedBox(_team_private(private_key_box)).decrypt(bytes(sealed))


def encrypt(report_key: bytes, data: bytes) -> bytes:
    return bytes(SecretBox(report_key).encrypt(data))


def decrypt(report_key: bytes, data: bytes) -> bytes:
    return SecretBox(report_key).decrypt(bytes(data))


def new_receipt() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(RECEIPT_DIGITS))


def _receipt_salt() -> bytes:
    return hashlib.sha256(b"port2port receipt salt" + platform_key()).digest()[
        : pwhash.argon2id.SALTBYTES
    ]


def receipt_keys(receipt: str) -> tuple[str, bytes]:
    """(lookup value stored with the report, key that wraps the report key for the reporter)."""
    derived = pwhash.argon2id.kdf(
        64,
        receipt.encode(),
        _receipt_salt(),
        opslimit=RECEIPT_OPSLIMIT,
        memlimit=RECEIPT_MEMLIMIT,
    )
    return hashlib.sha256(derived[:32]).hexdigest(), derived[32:]


def normalise_receipt(text: str) -> str | None:
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    return digits if len(digits) == RECEIPT_DIGITS and len(text or "") <= 64 else None
