"""The one way saltext-pcmk runs external programs.

Always an argv list, never a shell. Non-zero exits become :class:`ToolError`
carrying the program's own message. ``CIB_file`` is honoured the way
Pacemaker's own tools honour it, so every caller works on an offline CIB too.

A value that must not be seen (a secret parameter) is wrapped in
:class:`Secret`, in ``argv`` or in ``env``, or named in ``secrets=``: the debug
log of what runs, the :class:`ToolError` and its ``stdout``/``stderr`` show
:data:`MASK` in its place. Secrets belong in ``env`` (or stdin, or a private
file), not ``argv``: any user of the host reads a process's argv in ``ps``.
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


MASK = "********"  # the one mask, also diff.MASK


class Secret(str):
    """A string the runner never shows: masked in its log and in ToolError."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every (non-empty) secret value replaced by :data:`MASK`, longest first."""
    for value in sorted({str(s) for s in secrets if s}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


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
        secrets: Iterable[str] = (),
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv``; return the CompletedProcess or raise ToolError.

        Values wrapped in :class:`Secret` (in ``argv`` or ``env``) and those in
        ``secrets`` are masked in the debug log and in the ToolError.
        """
        argv = list(argv)
        hidden = {str(a) for a in argv if isinstance(a, Secret)} | {str(s) for s in secrets if s}
        hidden |= {str(v) for v in (env or {}).values() if isinstance(v, Secret)}
        args = [str(a) for a in argv]
        if shutil.which(args[0], path=self.base_env.get("PATH")) is None and not os.path.isabs(args[0]):
            raise ToolMissing(f"{args[0]} is not installed on this minion (install pacemaker-cli-utils)")
        run_env = dict(self.base_env)
        if env:
            run_env.update(env)
        shown = [mask(a, hidden) for a in args]
        log.debug("running %s", shown)
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
            raise ToolError(shown, -1, "", f"timed out after {exc.timeout}s") from exc
        finally:
            self.calls.append((args[0], time.monotonic() - started))
        if proc.returncode not in ok_codes:
            cls = CibConflict if args[0] == "cibadmin" and proc.returncode in CONFLICT_EXIT_CODES else ToolError
            raise cls(shown, proc.returncode, mask(proc.stdout or "", hidden), mask(proc.stderr or "", hidden))
        return proc

    def count(self, program: str | None = None) -> int:
        """How many programs (or how many runs of ``program``) were run."""
        return sum(1 for name, _ in self.calls if program is None or name == program)
