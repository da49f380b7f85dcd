"""One converge step: apply specs to the CIB, check, diff, write once.

A :class:`Session` lives for one Salt run (the state modules keep it in
``__context__``): the CIB is read once and re-read only after a write, agent
meta-data is read once per agent, and ``crm_verify`` of a given CIB version
is computed once.
"""

import logging
from dataclasses import dataclass, field

from saltext.pcmk.utils.errors import NotFound, SpecError

from . import diff as diffmod
from . import document as cibmod
from . import validate as validatemod
from .metadata import ClusterOptions, MetadataCache
from .secretfiles import CIB_PLACEHOLDER, SecretFiles

log = logging.getLogger(__name__)


@dataclass
class ApplyContext:
    """What specs may consult while applying: meta-data, locally kept secrets."""

    metadata: MetadataCache | None
    secret_files: SecretFiles | None
    local_secrets: dict = field(default_factory=dict)  # {(rsc, name): value}
    removed: set = field(default_factory=set)  # ids of resources the specs removed
    options: ClusterOptions | None = None  # Pacemaker's cluster options, as its daemons describe them

    def keep_local(self, resource_id, params, names):
        """Swap secret values for the cibsecret placeholder; remember them."""
        swapped = dict(params)
        for name in names:
            if name in params and params[name] is not None:
                self.local_secrets[(resource_id, name)] = str(params[name])
                swapped[name] = CIB_PLACEHOLDER
        return swapped


@dataclass
class Outcome:
    changes: dict
    written: bool

    @property
    def changed(self):
        return bool(self.changes)

    def render(self):
        return diffmod.render(self.changes)


class Session:
    def __init__(self, runner, *, check_agents=True, verify=True, secret_files=None, cib=None):
        self.runner = runner
        self.metadata = MetadataCache(runner) if check_agents else None
        self.options = ClusterOptions(runner)
        self.verify = verify
        self.secret_files = secret_files or SecretFiles()
        self._cib = cib  # given: this CIB instead of a first read
        self._predicted = None  # test mode: the CIB as earlier states of this run would leave it
        self.aggregated = {}  # state tag -> Outcome written on its behalf by an aggregated state
        self._verify_cache = {}
        self.writes = 0

    @property
    def cib(self):
        if self._cib is None:
            self._cib = cibmod.read(self.runner)
        return self._cib

    def refresh(self):
        self._cib = None

    def forget_predictions(self):
        """Start ``test=True`` predictions again from the CIB as read."""
        self._predicted = None

    # -- the converge step -------------------------------------------------------
    def _compute(self, groups, declared, original, candidate):
        """Apply every group's specs to ``candidate``: (changes per owner, secrets to write, ids removed).

        Groups are diffed one after another on the same candidate, so each
        owner (a state, when Salt aggregates several into one write) gets
        exactly the changes its own specs make.
        """
        ctx = ApplyContext(self.metadata, self.secret_files, options=self.options)
        secrets: dict[str, set] = {}
        steps: list = []
        for owner, specs in groups:
            before = candidate.copy()
            for spec in specs:
                spec.apply(candidate, ctx)
                for rsc, names in spec.secrets(ctx).items():
                    secrets.setdefault(rsc, set()).update(names)
            steps.append((owner, before, candidate.copy() if len(groups) > 1 else candidate))
        self._check_references([s for _, specs in groups for s in specs], candidate, declared)
        changes = {owner: diffmod.compare(before, after, secrets) for owner, before, after in steps}
        pending = {}
        for (rsc, name), value in ctx.local_secrets.items():
            if self.secret_files.current(rsc, name) != value:
                pending[(rsc, name)] = value
                owner = next(
                    (o for o, specs in groups if any(getattr(s, "id", None) == rsc for s in specs)), groups[0][0]
                )
                changes[owner].setdefault(f"secret file {rsc}", {}).setdefault("changed", {})[name] = {
                    "old": diffmod.MASK,
                    "new": diffmod.MASK,
                }
        return changes, pending, ctx.removed

    def _write_secrets(self, pending):
        for (rsc, name), value in pending.items():
            if self.secret_files.current(rsc, name) != value:
                self.secret_files.write(rsc, name, value)

    @staticmethod
    def _check_references(specs, candidate, declared):
        # A constraint may name a tag or a resource template instead of a resource.
        existing = candidate.resource_ids() | candidate.tag_ids() | candidate.template_ids()
        for spec in specs:
            for ref in spec.references():
                if ref in existing:
                    continue
                who = getattr(spec, "id", None) or getattr(spec, "target", "?")
                if ref in declared:
                    raise SpecError(
                        f"{who!r} names resource {ref!r}, which this run declares but has not applied yet; "
                        f"add a require on the state declaring {ref!r}"
                    )
                raise NotFound(f"{who!r} names resource {ref!r}, which neither exists nor is declared in this run")

    def converge(self, specs, *, test=False, declared=()):
        """Make the CIB match ``specs``; one write at most. Returns an Outcome."""
        return self.converge_groups([(None, specs)], test=test, declared=declared)[None]

    def converge_groups(self, groups, *, test=False, declared=()):
        """Converge several owners' specs in one write; ``{owner: Outcome}``."""
        declared = set(declared)
        if test:
            original = self._predicted or self.cib
            candidate = original.copy()
            changes, _, _ = self._compute(groups, declared, original, candidate)
            self._predicted = candidate
            return {owner: Outcome(part, written=False) for owner, part in changes.items()}

        state = {}

        def compute(original, candidate):
            state["changes"], state["pending"], state["removed"] = self._compute(groups, declared, original, candidate)

        def check(original, candidate):
            if self.verify:
                validatemod.check_candidate(self.runner, original, candidate, self._verify_cache)
            # Secrets land on disk before a CIB that points at them can start the agent.
            self._write_secrets(state["pending"])

        base, self._cib = self._cib, None
        try:
            _, written, last_read = cibmod.write(self.runner, compute, validate=check, base=base)
        except Exception:
            self._cib = None
            raise
        self._write_secrets(state["pending"])  # when only a secret changed
        if written is not None:
            for resource_id in sorted(state["removed"]):
                self.secret_files.remove(resource_id)
        if written is None:
            # Nothing written: what was read is still the CIB (one read per run).
            self._cib = last_read
        else:
            self.writes += 1
            for part in state["changes"].values():
                if part:
                    log.info("CIB updated: %s", diffmod.render(part).replace("\n", "; "))
        wrote = written is not None or bool(state["pending"])
        return {owner: Outcome(part, written=wrote and bool(part)) for owner, part in state["changes"].items()}
