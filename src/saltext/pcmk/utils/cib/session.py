"""One converge step: apply specs to the CIB, check, diff, write once.

A :class:`Session` lives for one Salt run (the state modules keep it in
``__context__``): the CIB is read once and re-read only after a write, agent
meta-data is read once per agent, and ``crm_verify`` of a given CIB version
is computed once.
"""

import logging
from dataclasses import dataclass, field

from saltext.pcmk.utils.errors import CibInvalid, NotFound, OwnerRefused, PcmkError, SpecError

from . import diff as diffmod
from . import document as cibmod
from . import validate as validatemod
from .metadata import AgentRef, ClusterOptions, MetadataCache
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


# What a constraint may name: a resource, a tag or a resource template.
_NAMEABLE = frozenset({"primitive", "group", "clone", "master", "bundle", "tag", "template"})


def _names_resource(cib, ident):
    return any(element.tag in _NAMEABLE for element in cib.with_id(ident))


def _tells_touched(spec):
    """Whether ``spec`` says what it touched (``specs.Spec.touched``; optional for other specs)."""
    tells = getattr(spec, "tells_touched", None)
    return tells is not None and tells()


def _note_touched(candidate, spec):
    """Keep the candidate's id list complete between specs (``Cib.known_with_id``)."""
    touched = spec.touched() if _tells_touched(spec) else None
    if touched is None:
        candidate.forget_ids()
        return
    for item in touched:
        for element in candidate.with_id(item) if isinstance(item, str) else [item]:
            held = diffmod.holders(element, candidate.configuration)
            if held:  # the outermost object holds everything the spec may have made
                candidate.note_ids([list(held.values())[-1]])


class Session:
    def __init__(self, runner, *, check_agents=True, verify=True, secret_files=None):
        self.runner = runner
        self.metadata = MetadataCache(runner) if check_agents else None
        self.options = ClusterOptions(runner)
        self.verify = verify
        self.secret_files = secret_files or SecretFiles()
        self._cib = None
        self._predicted = None  # test mode: the CIB as earlier states of this run would leave it
        self.aggregated = {}  # state tag -> Outcome written on its behalf by an aggregated state
        self.refused = {}  # state tag -> why its part of an aggregated write was refused
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

    # -- reading, secrets masked ---------------------------------------------------
    def secret_names(self, element, declared=()):
        """The secret parameters of a primitive or template: ``declared`` (its
        ``secret_params``) and those its agent marks private (when agent checks
        are on and the agent is installed; a primitive made from a template has
        the template's agent)."""
        found = set(declared or ())
        if self.metadata is None or element is None:
            return found
        if element.get("template") is not None and element.get("type") is None:
            element = next(iter(self.cib.root.xpath("//template[@id=$i]", i=element.get("template"))), None)
        if element is None or element.get("type") is None:
            return found
        try:
            found |= self.metadata.get(AgentRef.of_primitive(element)).private_parameters
        except PcmkError:  # an agent not installed here: declared and named secrets only
            pass
        return found

    def describe(self, resource_id, secret_params=()):
        """One resource's flat description (:func:`diff.objects`), secrets masked by the one rule."""
        element = self.cib.resource(resource_id)
        if element is None:
            raise NotFound(f"resource {resource_id!r} does not exist")
        key = f"{diffmod.OBJECT_TAGS[element.tag]} {resource_id}"
        secrets = {resource_id: self.secret_names(element, secret_params)} if element.tag == "primitive" else {}
        return diffmod.objects(self.cib, secrets)[key]

    def masked_text(self, secret_params=()):
        """The CIB as XML text, every primitive's and template's secret values masked
        (``secret_params``: names secret in any resource, besides the rule's)."""
        secrets = {
            e.get("id"): self.secret_names(e, secret_params) for e in self.cib.root.iter("primitive", "template")
        }
        return diffmod.masked_cib(self.cib, secrets).to_text()

    # -- the converge step -------------------------------------------------------
    def _compute(self, groups, declared, original, candidate, exact=False):
        """Apply every group's specs to ``candidate``: (changes per owner, secrets to write, ids removed).

        Groups are applied one after another on the same candidate, so each
        owner (a state, when several share one write) gets exactly the changes
        its own specs make: compared over the objects its specs say they
        touched (:class:`diff.StepChanges`), or over the whole CIB for a spec
        that cannot say (``exact``: for every step). What the owners report
        is checked to cover everything the write changes; when it does not,
        the steps are computed again, exactly. An error while applying is
        :class:`OwnerRefused`, naming the owner whose spec raised it (when
        there are several); a spec may name only resources that exist once
        it and the owners before it are applied.
        """
        ctx = ApplyContext(self.metadata, self.secret_files, options=self.options)
        secrets: dict[str, set] = {}
        candidate.keeps_ids = True
        steps = diffmod.StepChanges(original) if len(groups) > 1 else None
        for owner, specs in groups:
            scoped = not exact and all(_tells_touched(spec) for spec in specs)
            before = candidate.copy() if steps is not None and not scoped else None
            try:
                for spec in specs:
                    try:
                        spec.apply(candidate, ctx)
                    except (ValueError, TypeError) as exc:
                        # lxml refusing a name or value the spec's checks let through.
                        who = getattr(spec, "id", None) or getattr(spec, "name", None) or "a declaration"
                        raise SpecError(f"{who!r}: a name or value cannot be stored in the CIB ({exc})") from exc
                    _note_touched(candidate, spec)
                    for rsc, names in spec.secrets(ctx).items():
                        secrets.setdefault(rsc, set()).update(names)
                self._check_references(specs, candidate, declared)
            except PcmkError as exc:
                if len(groups) == 1:
                    raise
                raise OwnerRefused(owner, exc) from exc
            if steps is None:
                continue
            if scoped:
                steps.record(owner, candidate, [ident for spec in specs for ident in spec.touched()])
            else:
                steps.record_exact(owner, before, candidate)
        # A later owner may have removed what an earlier one names.
        existing = candidate.resource_ids() | candidate.tag_ids() | candidate.template_ids()
        for owner, specs in groups:
            try:
                self._check_references(specs, candidate, declared, existing)
            except PcmkError as exc:
                if len(groups) == 1:
                    raise
                raise OwnerRefused(owner, exc) from exc
        if steps is None:
            same = original.same_configuration(candidate)
            changes = {groups[0][0]: {} if same else diffmod.compare(original, candidate, secrets)}
        else:
            changes = steps.changes(secrets)
            if not exact and not original.same_configuration(candidate):
                reported = {key for part in changes.values() for key in part}
                unreported = set(diffmod.compare(original, candidate, secrets)) - reported
                if unreported:
                    log.debug("changes to %s were not told by the specs; comparing every step", sorted(unreported))
                    candidate.reset_to(original)
                    return self._compute(groups, declared, original, candidate, exact=True)
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

    def _check(self, groups, original, candidate):
        """The checks a candidate must pass before it is written (the real run and
        ``test=True`` alike); a failure names the owner whose change caused it:
        the first whose step, applied on ``original``, fails the same check."""
        if not self.verify:
            return
        try:
            validatemod.check_candidate(self.runner, original, candidate, self._verify_cache)
        except CibInvalid as exc:
            if len(groups) == 1:
                raise
            for owner, before, after in self._owner_steps(groups, original):
                if before.same_configuration(after):
                    continue
                try:
                    validatemod.check_candidate(self.runner, original, after, self._verify_cache)
                except CibInvalid as own:
                    raise OwnerRefused(owner, own) from exc
            raise

    def _owner_steps(self, groups, original):
        """``(owner, before, after)`` for each owner, its specs applied on a copy of ``original``
        after those of the owners before it (made again only when a check has failed)."""
        ctx = ApplyContext(self.metadata, self.secret_files, options=self.options)
        candidate = original.copy()
        candidate.keeps_ids = True
        for owner, specs in groups:
            before = candidate.copy()
            for spec in specs:
                spec.apply(candidate, ctx)
                _note_touched(candidate, spec)
            yield owner, before, candidate.copy()

    def _write_secrets(self, pending):
        for (rsc, name), value in pending.items():
            if self.secret_files.current(rsc, name) != value:
                self.secret_files.write(rsc, name, value)

    @staticmethod
    def _check_references(specs, candidate, declared, existing=None):
        """Every resource the specs name exists (``existing``: the ids, when already listed)."""
        for spec in specs:
            for ref in spec.references():
                if ref in existing if existing is not None else _names_resource(candidate, ref):
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
            # The same checks as the real run, so test=True predicts every refusal.
            original = self._predicted or self.cib
            candidate = original.copy()
            changes, _, _ = self._compute(groups, declared, original, candidate)
            if not original.same_configuration(candidate):
                cibmod.check_cib_file(self.runner, writing=True)
                self._check(groups, original, candidate)
            self._predicted = candidate
            return {owner: Outcome(part, written=False) for owner, part in changes.items()}

        state = {}

        def compute(original, candidate):
            state["changes"], state["pending"], state["removed"] = self._compute(groups, declared, original, candidate)

        def check(original, candidate):
            self._check(groups, original, candidate)
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
