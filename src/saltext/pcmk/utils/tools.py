"""The one way saltext-pcmk runs external programs.

Always an argv list, never a shell. Non-zero exits become :class:`ToolError`
carrying the program's own message. ``CIB_file`` is honoured the way
Pacemaker's own tools honour it, so every caller works on an offline CIB too.
"""

import logging
import os
import shutil
import subprocess
import time

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

    def __init__(self, cib_file=None, env=None, default_timeout=120):
        self.base_env = dict(os.environ if env is None else env)
        if cib_file:
            self.base_env["CIB_file"] = str(cib_file)
        self.default_timeout = default_timeout
        self.calls = []  # (argv0, seconds) for benchmarks

    @property
    def cib_file(self):
        return self.base_env.get("CIB_file") or None

    @property
    def offline(self):
        return self.cib_file is not None

    def run(self, argv, *, input=None, timeout=None, ok_codes=(0,), env=None):
        """Run ``argv``; return the CompletedProcess or raise ToolError."""
        argv = [str(a) for a in argv]
        if shutil.which(argv[0], path=self.base_env.get("PATH")) is None and not os.path.isabs(argv[0]):
            raise ToolMissing(f"{argv[0]} is not installed on this minion (install pacemaker-cli-utils)")
        run_env = dict(self.base_env)
        if env:
            run_env.update(env)
        log.debug("running %s", argv)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                argv,
                input=input,
                capture_output=True,
                text=True,
                env=run_env,
                timeout=timeout or self.default_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolError(argv, -1, "", f"timed out after {exc.timeout}s") from exc
        finally:
            self.calls.append((argv[0], time.monotonic() - started))
        if proc.returncode not in ok_codes:
            cls = CibConflict if argv[0] == "cibadmin" and proc.returncode in CONFLICT_EXIT_CODES else ToolError
            raise cls(argv, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def count(self, program=None):
        """How many programs (or how many runs of ``program``) were run."""
        return sum(1 for name, _ in self.calls if program is None or name == program)
