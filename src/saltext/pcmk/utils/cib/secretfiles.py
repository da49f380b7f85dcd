"""Secrets kept out of the CIB the way Pacemaker's ``cibsecret`` does it.

The CIB holds ``lrm://`` as the parameter's value; every node keeps the real
value in ``<dir>/<resource>/<parameter>`` (root-only) with an md5 ``.sign``
file beside it, which pacemaker-execd reads when it runs the agent. Each
controller's own highstate writes its own copy, which is exactly how Salt
distributes per-node files anyway.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping

LRM_SECRETS_DIR = "/var/lib/pacemaker/lrm/secrets"
CIB_PLACEHOLDER = "lrm://"


class SecretFiles:
    def __init__(self, root: str = LRM_SECRETS_DIR) -> None:
        self.root = root

    def path(self, resource_id: str, name: str) -> str:
        return os.path.join(self.root, resource_id, name)

    def current(self, resource_id: str, name: str) -> str | None:
        try:
            with open(self.path(resource_id, name), encoding="utf-8") as handle:
                return handle.read().removesuffix("\n")
        except FileNotFoundError:
            return None

    def differing(self, resource_id: str, secrets: Mapping[str, str]) -> list[str]:
        """Names in ``secrets`` ({name: value}) whose local file differs."""
        return sorted(name for name, value in secrets.items() if self.current(resource_id, name) != value)

    def write(self, resource_id: str, name: str, value: str) -> None:
        directory = os.path.join(self.root, resource_id)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(self.root, 0o700)
        for path, text in (
            (self.path(resource_id, name), value + "\n"),
            (self.path(resource_id, name) + ".sign", hashlib.md5(value.encode()).hexdigest() + "\n"),
        ):
            tmp = f"{path}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)

    def remove(self, resource_id: str) -> bool:
        """Forget a removed resource's secrets (as ``cibsecret delete`` does)."""
        directory = os.path.join(self.root, resource_id)
        if os.path.isdir(directory):
            shutil.rmtree(directory)
            return True
        return False
