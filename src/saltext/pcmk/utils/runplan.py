"""Which of the states that follow a pcmk state can share its one CIB write.

Without ``state_aggregate``, Salt calls every state on its own; a run of 99
pcmk states would be 99 validated, conflict-checked CIB writes. Salt 3008
hands each state the run's low chunks (``__lowstate__``) in the order it
executes them (topologically sorted by requisites), and what has run
(``__running__``), so the first pcmk state of a stretch can look ahead: the
pcmk states that come right after it, with nothing between them that could
see the CIB, and nothing that could keep Salt from running them, are
applied with it in one write. Each still reports its own part when Salt
calls it (``Session.aggregated``), and a refused one fails on its own.

A following state joins only when Salt would certainly run it next, with the
same effect:

- it is a pcmk state whose function can share a write (``aggregatable``),
  not marked ``aggregate: false``, with no argument its function does not
  know (it then fails on its own);
- it carries no condition or requisite other than ``require`` (``onlyif``,
  ``unless``, ``onchanges``, ``watch``, ``prereq``, ``listen``, ``retry``,
  ``parallel``, ``failhard`` ... each ends the stretch), and every state it
  requires already ran and succeeded, or is one of the stretch;
- the run is not ``failhard`` (a failure would stop Salt before it reports
  the states after it) and Salt does not aggregate pcmk itself.

The stretch ends at the first state that does not qualify; states after it
run, and look ahead, on their own.
"""

# Salt's own keys a chunk may carry without changing when or whether it runs.
from saltext.pcmk.utils.cib.specs import clone_id_for, declares_clone

_NEUTRAL = {
    "state",
    "fun",
    "name",
    "__id__",
    "__sls__",
    "__env__",
    "__sls_included_from__",
    "__orchestration_jid__",
    "__agg__",
    "order",
    "name_order",
    "fire_event",
    "saltenv",
    "require",
    "aggregate",
}


def gen_tag(chunk):
    """Salt's running-dict key of a low chunk (``salt.state._gen_tag``)."""
    return f"{chunk['state']}_|-{chunk['__id__']}_|-{chunk['name']}_|-{chunk['fun']}"


def _neutral(key):
    return key in _NEUTRAL or key.startswith("__pub_")


def _targets(entry, chunks):
    """Positions of the chunks one ``require`` entry names, or None when it cannot be told."""
    if isinstance(entry, dict) and len(entry) == 1:
        ((kind, value),) = entry.items()
    elif isinstance(entry, str):
        kind, value = "id", entry
    else:
        return None
    if not isinstance(value, str) or any(c in value for c in "*?["):
        return None
    if kind == "sls":
        found = [i for i, c in enumerate(chunks) if c.get("__sls__") == value]
    else:
        found = [
            i
            for i, c in enumerate(chunks)
            if kind in ("id", c.get("state")) and value in (c.get("__id__"), c.get("name"))
        ]
    return found or None


def declared_resources(lowstate):
    """Resource ids (and their clone ids) and resource template ids declared by pcmk states in this run."""
    declared = set()
    for chunk in lowstate or ():
        if chunk.get("state") != "pcmk":
            continue
        if chunk.get("fun") in ("resource", "group", "bundle", "service_provider"):
            declared.add(chunk.get("name"))
            if chunk.get("fun") == "resource" and declares_clone(chunk):
                declared.add(clone_id_for(chunk.get("name"), chunk.get("clone_id")))
            if chunk.get("fun") == "resource" and chunk.get("group"):
                declared.add(chunk.get("group"))
        elif chunk.get("fun") == "clone":
            declared.add(clone_id_for(chunk.get("name"), chunk.get("clone_id")))
        elif chunk.get("fun") == "resource_template":
            declared.add(chunk.get("name"))
    return declared


class RunPlan:
    """The low chunks of one run, indexed once (a run of N states asks N times)."""

    def __init__(self, chunks, aggregatable, arguments):
        self.chunks = list(chunks)
        self.aggregatable = aggregatable
        self.arguments = arguments  # fun -> the low keys that are its arguments
        self.position = {gen_tag(c): i for i, c in enumerate(self.chunks)}
        self.declared = declared_resources(self.chunks)

    def _joins(self, chunk):
        if chunk.get("state") != "pcmk" or chunk.get("fun") not in self.aggregatable:
            return False
        if chunk.get("aggregate", True) is False or chunk.get("__agg__"):
            return False
        known = self.arguments.get(chunk["fun"], set())
        return all(_neutral(key) or key in known for key in chunk)

    def _requirements_met(self, chunk, start, stretch, running):
        for entry in chunk.get("require") or ():
            found = _targets(entry, self.chunks)
            if found is None:
                return False
            for i in found:
                tag = gen_tag(self.chunks[i])
                if i >= start:
                    if tag not in stretch:
                        return False
                elif (running.get(tag) or {}).get("result") is not True:
                    return False
        return True

    def following(self, tag, running, limit=None):
        """The chunks that can share the write of the state ``tag``, in run order."""
        start = self.position.get(tag)
        if start is None:
            return []
        stretch = {tag}
        joined: list = []
        for chunk in self.chunks[start + 1 :]:
            if limit is not None and len(joined) >= limit:
                break
            if not self._joins(chunk) or not self._requirements_met(chunk, start, stretch, running):
                break
            ctag = gen_tag(chunk)
            if ctag in running:
                break
            stretch.add(ctag)
            joined.append(chunk)
        return joined


def lookahead_allowed(opts, low):
    """Whether a state may write the states after it (see the module docstring)."""
    if opts.get("failhard") or low.get("failhard") or low.get("__prereq__"):
        return False
    aggregate = opts.get("state_aggregate")
    if aggregate is True or (isinstance(aggregate, (list, tuple, set)) and "pcmk" in aggregate):
        return False
    return low.get("aggregate", True) is not False
