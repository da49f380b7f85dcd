"""Exceptions of saltext-pcmk; each names its culprit.

Loader modules turn any :class:`PcmkError` into a Salt error or a state's
``result: False`` at one place.
"""

from __future__ import annotations

from collections.abc import Iterable


class PcmkError(Exception):
    """Base class: something about Pacemaker or a declaration is wrong."""


class ToolError(PcmkError):
    """A Pacemaker program exited non-zero; carries its own message."""

    def __init__(self, argv: Iterable[str], returncode: int, stdout: str | None, stderr: str | None) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout or ""
        self.stderr = stderr or ""
        message = (self.stderr.strip() or self.stdout.strip() or "no output").splitlines()
        # The last lines hold the reason; earlier ones are often usage noise.
        super().__init__(f"{self.argv[0]} failed (exit {returncode}): {' '.join(message[-3:])}")


class ToolMissing(PcmkError):
    """A Pacemaker program is not installed on this minion."""


class CibConflict(ToolError):
    """Another writer changed the CIB since it was read; re-read and retry."""


class CibWriteRetriesExhausted(PcmkError):
    """The CIB kept changing under us; every attempt was refused."""


class NoQuorum(PcmkError):
    """The local partition has no quorum, so writing could be lost at heal."""


class CibInvalid(PcmkError):
    """A candidate CIB failed schema or crm_verify checks; it was not written."""


class NotXml(PcmkError):
    """Text that had to be XML (a CIB, a tool's output, meta-data) is not; names where it came from."""


class CibFileError(PcmkError):
    """The offline CIB file (``CIB_file``) cannot be used; names the file and the cause."""


class SpecError(PcmkError):
    """A declaration (state arguments, pillar) is wrong; names the culprit."""


class AgentRefused(SpecError):
    """A candidate resource agent is broken; the installed one was left in place."""


class OwnerRefused(PcmkError):
    """One owner's specs (one state, when Salt aggregates several into one write)
    were refused; ``owner`` says whose, the message is the cause's own."""

    def __init__(self, owner: object, cause: PcmkError) -> None:
        self.owner = owner
        self.cause = cause
        super().__init__(str(cause))


class NotFound(PcmkError):
    """A resource, constraint or node named by the caller does not exist."""


class WaitTimeout(PcmkError):
    """The cluster did not settle within the given time."""


class ResourceFailed(PcmkError):
    """An operation Pacemaker ran for the resource failed while we waited."""


class RestartInProgress(PcmkError):
    """Another node is restarting this resource right now."""


class ClaimStranded(PcmkError):
    """A restart could not end its claim (its node lost the cluster); the next performer recovers it."""
