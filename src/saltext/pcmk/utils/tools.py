"""The one way saltext-pcmk runs external programs.

Always an argv list, never a shell. Non-zero exits become :class:`ToolError`
carrying the program's own message. ``CIB_file`` is honoured the way
Pacemaker's own tools honour it, so every caller works on an offline CIB too.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Container, Iterable, Mapping

from .errors import CibConflict, ToolError, ToolMissing

log = logging.getLogger(__name__)

# cibadmin: "Update was older than existing configuration" (pcmk_err_old_data)
# and "Application of update diff failed" both mean another writer won.
CONFLICT_EXIT_CODES = frozenset({103, 107, 205, 206})


class ToolRunner:
    """Runs Pacemaker programs and counts what it ran.

    ``cib_file`` makes every program work on that file instead of the live
    cluster; when it is None the process environment decides (``CIB_file``).
    """

    def __init__(
        self,
        cib_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        default_timeout: float = 120,
    ) -> None:
        self.base_env = dict(os.environ if env is None else env)
        if cib_file:
            self.base_env["CIB_file"] = str(cib_file)
        self.default_timeout = default_timeout
        self.calls: list[tuple[str, float]] = []  # (argv0, seconds) for benchmarks

    @property
    def cib_file(self) -> str | None:
        return self.base_env.get("CIB_file") or None

    @property
    def offline(self) -> bool:
        return self.cib_file is not None

    def run(
        self,
        argv: Iterable[object],
        *,
        input: str | None = None,
        timeout: float | None = None,
        ok_codes: Container[int] = (0,),
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv``; return the CompletedProcess or raise ToolError."""
        args = [str(a) for a in argv]
        if shutil.which(args[0], path=self.base_env.get("PATH")) is None and not os.path.isabs(args[0]):
            raise ToolMissing(f"{args[0]} is not installed on this minion (install pacemaker-cli-utils)")
        run_env = dict(self.base_env)
        if env:
            run_env.update(env)
        log.debug("running %s", args)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                args,
                input=input,
                capture_output=True,
                text=True,
                env=run_env,
                timeout=timeout or self.default_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolError(args, -1, "", f"timed out after {exc.timeout}s") from exc
        finally:
            self.calls.append((args[0], time.monotonic() - started))
        if proc.returncode not in ok_codes:
            cls = CibConflict if args[0] == "cibadmin" and proc.returncode in CONFLICT_EXIT_CODES else ToolError
            raise cls(args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def count(self, program: str | None = None) -> int:
        """How many programs (or how many runs of ``program``) were run."""
        return sum(1 for name, _ in self.calls if program is None or name == program)
