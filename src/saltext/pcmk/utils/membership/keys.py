"""Authentication keys: Corosync's (``/etc/corosync/authkey``) and Pacemaker's (``/etc/pacemaker/authkey``).

Keys come from pillar as base64 (keep them encrypted there with Salt's GPG
renderer) or are made by :func:`generate`. Their bytes are never shown:
what a change reports is ``authkey: changed`` and, to compare keys across
controllers, a :func:`fingerprint` (a SHA-256 prefix: of a random key of
128 bytes or more it tells nothing that helps recover the key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass

from saltext.pcmk.utils.errors import SpecError

# Corosync 3 (knet) refuses a key shorter than 1024 bits or longer than 4096 bytes.
COROSYNC_MIN, COROSYNC_MAX = 128, 4096
PACEMAKER_MIN, PACEMAKER_MAX = 16, 4096
DEFAULT_SIZE = 256  # corosync-keygen's default (2048 bits); pcs makes Pacemaker keys of the same size


@dataclass(frozen=True)
class KeyFile:
    """Where a key lives and who may read it."""

    kind: str  # "corosync" or "pacemaker"
    path: str
    user: str
    group: str
    mode: int = 0o400


# Corosync runs as root. Pacemaker's controller runs as hacluster and reads the key to talk to
# Pacemaker Remote nodes, so the key is hacluster's, read-only, as pcs installs it.
COROSYNC_KEY = KeyFile("corosync", "/etc/corosync/authkey", "root", "root")
PACEMAKER_KEY = KeyFile("pacemaker", "/etc/pacemaker/authkey", "hacluster", "haclient")


def _bounds(kind):
    return (COROSYNC_MIN, COROSYNC_MAX) if kind == "corosync" else (PACEMAKER_MIN, PACEMAKER_MAX)


def check(key: bytes, kind: str, where: str) -> bytes:
    low, high = _bounds(kind)
    if not low <= len(key) <= high:
        raise SpecError(f"{where}: the {kind} key is {len(key)} bytes; it must have {low} to {high}")
    return key


def decode(value, kind: str) -> bytes:
    """A key from pillar (base64 text); SpecError names the pillar key, never the value."""
    where = f"pcmk:cluster:authkeys:{kind}"
    if not isinstance(value, (str, bytes)):
        raise SpecError(f"{where} must be base64 text, got a {type(value).__name__}")
    try:
        raw = base64.b64decode(
            "".join(value.split()) if isinstance(value, str) else b"".join(value.split()), validate=True
        )
    except (binascii.Error, ValueError):
        raise SpecError(f"{where} is not valid base64 (the value is not shown)") from None
    return check(raw, kind, where)


def generate(size: int = DEFAULT_SIZE) -> bytes:
    return secrets.token_bytes(size)


def encode(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def fingerprint(key: bytes | None) -> str | None:
    """A short SHA-256 prefix to compare keys across controllers without showing them."""
    return None if key is None else "sha256:" + hashlib.sha256(key).hexdigest()[:16]


def read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class KeyState:
    """How a key file differs from what is declared: ``content``, ``mode``, ``owner`` (empty: as declared)."""

    differences: tuple[str, ...]
    exists: bool


def inspect(keyfile: KeyFile, key: bytes, uid: int, gid: int) -> KeyState:
    try:
        stat = os.lstat(keyfile.path)
    except FileNotFoundError:
        return KeyState(("created",), False)
    differences = []
    if read(keyfile.path) != key:
        differences.append("content")
    if stat.st_mode & 0o7777 != keyfile.mode:
        differences.append(f"mode {stat.st_mode & 0o7777:04o} -> {keyfile.mode:04o}")
    if (stat.st_uid, stat.st_gid) != (uid, gid):
        differences.append(f"owner -> {keyfile.user}:{keyfile.group}")
    return KeyState(tuple(differences), True)


def write(keyfile: KeyFile, key: bytes, uid: int, gid: int) -> None:
    """Write the key whole or not at all: a private file in the same directory, renamed over the old one."""
    directory = os.path.dirname(keyfile.path)
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".authkey-")
    except OSError as exc:
        raise SpecError(f"cannot write {keyfile.path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), keyfile.mode)
            os.fchown(handle.fileno(), uid, gid)
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, keyfile.path)
    except OSError as exc:
        os.unlink(temporary)
        raise SpecError(f"cannot write {keyfile.path}: {exc.strerror or exc}") from exc
