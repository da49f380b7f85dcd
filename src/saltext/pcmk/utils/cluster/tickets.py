"""Tickets (``pcmk.ticket``): granted or revoked, active or standby.

A ticket lives in the CIB's *status* section (``<tickets><ticket_state
id=.. granted=.. standby=..>``), not in the configuration, and is changed
with Pacemaker's own ``crm_ticket`` (as booth and operators change it), never
with a configuration patch: docs/design.md says why. Its state is read
right before deciding, each change is one ``crm_ticket`` run, and nothing is
run when the ticket is already as declared. A ticket with no state reads as
revoked and active, as Pacemaker reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.session import Outcome
from saltext.pcmk.utils.cib.specs import check_id, parse_bool
from saltext.pcmk.utils.errors import PcmkError

TICKETS_XPATH = "/cib/status/tickets"


@dataclass(frozen=True)
class TicketState:
    granted: bool = False
    standby: bool = False


@dataclass
class TicketSpec:
    """What a ticket is to be; a field None is left as found."""

    id: str
    granted: bool | None = None
    standby: bool | None = None

    @classmethod
    def build(cls, ticket, granted=None, standby=None):
        check_id(ticket, "ticket")
        granted, standby = (
            None if value is None else parse_bool(value, f"ticket {ticket!r} {name}")
            for name, value in (("granted", granted), ("standby", standby))
        )
        return cls(ticket, granted, standby)

    def steps(self, current):
        """``[(field, new value, crm_ticket options)]`` turning ``current`` into the declaration.

        In the order a careful operator runs them: standby before a revoke
        (the resources stop before the loss-policy would apply), a grant
        before activating (nothing starts while the ticket is still standby).
        """
        found = []
        if self.standby is True and not current.standby:
            found.append(("standby", True, ["--standby"]))
        if self.granted is not None and self.granted != current.granted:
            found.append(("granted", self.granted, ["--grant" if self.granted else "--revoke", "--force"]))
        if self.standby is False and current.standby:
            found.append(("standby", False, ["--activate"]))
        return found


def read(runner, ticket):
    """The ticket's state as the CIB holds it now."""
    tickets = cibmod.query(runner, TICKETS_XPATH)
    found = tickets.xpath("ticket_state[@id=$t]", t=ticket) if tickets is not None else []
    if not found:
        return TicketState()
    return TicketState(*(nvsets.same_value(found[0].get(name), "true") for name in ("granted", "standby")))


def converge(session, spec, *, test=False):
    """Make the ticket as declared; an Outcome whose changes are ``{"ticket <id>": {"changed": ...}}``.

    With ``test`` nothing is run but the read. A failing ``crm_ticket`` is
    refused naming the ticket and saying which of its changes were made.
    After a change the session forgets the CIB it read: the status moved the
    CIB's version on, and a configuration patch made from the old one would
    be refused as stale and retried.
    """
    runner = session.runner
    current = read(runner, spec.id)
    steps = spec.steps(current)
    if not steps:
        return Outcome({}, written=False)
    was = {"granted": current.granted, "standby": current.standby}
    changed = {field: {"old": nvsets.as_text(was[field]), "new": nvsets.as_text(new)} for field, new, _ in steps}
    changes = {f"ticket {spec.id}": {"changed": changed}}
    if test:
        return Outcome(changes, written=False)
    done: list[str] = []
    try:
        for field, new, options in steps:
            try:
                cibmod.change_status(runner, ["crm_ticket", "--ticket", spec.id, *options])
            except PcmkError as exc:  # the tool's own message, or no quorum
                made = f" (made before it: {', '.join(done)})" if done else ""
                raise PcmkError(
                    f"ticket {spec.id!r}: setting {field} to {nvsets.as_text(new)} failed{made}: {exc}"
                ) from exc
            done.append(f"{field} {nvsets.as_text(new)}")
    finally:
        if done:
            session.refresh()
    return Outcome(changes, written=True)
