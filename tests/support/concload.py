"""Many concurrent state runs on every controller of the Salt bed, counted against the final CIB.

Shared by bench/concurrency.py (3 controllers x 20 runs, then the same with a
node killed) and tests/integration/test_concurrency.py (a short form on the
suite's bed). One *run* is ``state.apply conc concurrent=True
pillar={"conc_round": k}`` published from the master to every controller:
each minion runs it in a job process of its own, beside the other rounds,
which is what many overlapping highstates on a controller are. Every run
declares (``pcmk`` states, each its own CIB write, no aggregation):

overlapping   two Dummy resources, a location, a colocation and an order
              between them, a property and a resource default: the same on
              every controller and in every run;
distinct      ``conc-<minion>-<k>`` (Dummy) and its location constraint;
updates       ``conc-upd-<minion>-<k>`` (made by the seed run) gets the run's
              own parameter value; node n1 gets the node attribute
              ``conc-<minion>-<k>`` (every run writes the same nvset) and the
              shared attribute ``conc-last-writer`` (last writer wins);
removals      ``conc-gone-<minion>-<k>`` and its constraint (made by the seed
              run) are removed (``constraint_absent``, ``resource_absent``
              with ``aggregate: false``).

:func:`count` then reads every state return and the final CIB: what a
successful state reported must be there (or gone, for a removal), the
overlapping objects exactly once.
"""

from __future__ import annotations

import collections
import json
import re
import time
from pathlib import Path

from lxml import etree

PREFIX = "conc-"
RETRY_LINE = "CIB changed under us"  # document.write logs it (INFO) at every refused stale patch
GAVE_UP = "gave up after"

SEED_SLS = """\
{%- for m in pillar['conc_minions'] %}{% for r in range(pillar['conc_first'], pillar['conc_last']) %}
{%- set tag = m ~ '-' ~ r %}
conc-upd-{{ tag }}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: seed}
    - meta: {target-role: Stopped}
    - aggregate: true
conc-gone-{{ tag }}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: doomed}
    - meta: {target-role: Stopped}
    - aggregate: true
conc-gone-{{ tag }}-loc:
  pcmk.constraint:
    - kind: location
    - rsc: conc-gone-{{ tag }}
    - node: n1
    - score: 5
    - aggregate: true
{%- endfor %}{% endfor %}
"""

RUN_SLS = """\
{%- set r = pillar['conc_round'] %}
{%- set tag = grains['id'] ~ '-' ~ r %}
# overlapping: identical from every controller and every run
conc-common-a:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: common-a}
conc-common-b:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: common-b}
conc-common-a-on-n2:
  pcmk.constraint:
    - kind: location
    - rsc: conc-common-a
    - node: n2
    - score: 50
    - require:
      - pcmk: conc-common-a
conc-common-b-with-a:
  pcmk.constraint:
    - kind: colocation
    - rsc: conc-common-b
    - with_rsc: conc-common-a
    - score: 100
    - require:
      - pcmk: conc-common-a
      - pcmk: conc-common-b
conc-common-a-then-b:
  pcmk.constraint:
    - kind: order
    - first: conc-common-a
    - then: conc-common-b
    - require:
      - pcmk: conc-common-a
      - pcmk: conc-common-b
pe-input-series-max:
  pcmk.property:
    - value: 3000
migration-threshold:
  pcmk.rsc_defaults:
    - value: 5
# distinct: this run's own
conc-{{ tag }}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: {{ tag }}}
conc-{{ tag }}-loc:
  pcmk.constraint:
    - kind: location
    - rsc: conc-{{ tag }}
    - node: n{{ r % 3 + 1 }}
    - score: 10
    - require:
      - pcmk: conc-{{ tag }}
# updates
conc-upd-{{ tag }}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: updated-{{ tag }}}
conc-attr-{{ tag }}:
  pcmk.node_attribute:
    - node: n1
    - attribute: conc-{{ tag }}
    - value: v{{ r }}
conc-last-writer:
  pcmk.node_attribute:
    - node: n1
    - value: {{ tag }}
# removals of what the seed run made
conc-gone-{{ tag }}-loc:
  pcmk.constraint_absent: []
conc-gone-{{ tag }}:
  pcmk.resource_absent:
    - aggregate: false
    - timeout: 60
"""

OVERLAP_PROPERTY = ("pe-input-series-max", "3000")
OVERLAP_DEFAULT = ("migration-threshold", "5")


def write_sls(bed):
    bed.write_sls("concseed", SEED_SLS)
    bed.write_sls("conc", RUN_SLS)


def seed(bed, rounds, minion=None):
    """One run (one controller, one aggregated write) makes what ``rounds`` will update and remove."""
    minion = minion or bed.minion_ids[0]
    pillar = {"conc_minions": bed.minion_ids, "conc_first": rounds[0], "conc_last": rounds[-1] + 1}
    result = bed.salt(minion, "state.apply", "concseed", f"pillar={json.dumps(pillar)}", timeout=600)
    states = (result.data or {}).get(minion)
    if result.returncode != 0 or not isinstance(states, dict) or any(v["result"] is False for v in states.values()):
        raise AssertionError(f"the seed run failed: {result}")
    return result


# ---------------------------------------------------------------------------
# Running the rounds
# ---------------------------------------------------------------------------


class Phase:
    """The runs of ``rounds``, all published at once; ``wait()`` collects their returns.

    Published with ``salt --async`` and collected from the master's job cache:
    a ``salt`` CLI waiting for the returns gives up on a minion that misses its
    ``find_job`` question (``gather_job_timeout``), as a loaded one does, while
    its job still runs.
    """

    def __init__(self, bed, rounds):
        self.bed = bed
        self.rounds = list(rounds)
        self.logs = {m: _size(bed.minion_root(m) / "minion.log") for m in bed.minion_ids}
        self.started = time.monotonic()
        procs = {
            r: bed.popen_cli(
                "salt",
                "--async",
                "*",
                "state.apply",
                "conc",
                "concurrent=True",
                f"pillar={json.dumps({'conc_round': r})}",
            )
            for r in self.rounds
        }
        self.jids = {}
        for r, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=300)
            found = re.search(r"\b(\d{20})\b", stdout)
            if not found:
                raise AssertionError(f"round {r}: salt --async printed no job id: {stdout} {stderr}")
            self.jids[r] = found.group(1)
        self.returns = {}  # round -> {minion: states or what came instead}
        self.raw = {}  # round -> what is missing, when the wait ended first
        self.returned = None

    def _job_dirs(self):
        jobs = self.bed.master_root / "var" / "cache" / "salt" / "master" / "jobs"
        found = {}
        for jid_file in jobs.glob("*/*/jid"):
            try:
                found[jid_file.read_text().strip()] = jid_file.parent
            except OSError:
                continue
        return found

    def wait(self, timeout=3600, minions=None):
        """Until every minion (default: all) returned every round, or ``timeout`` s."""
        import salt.payload  # pylint: disable=import-outside-toplevel  (the bed's Salt: the venv's)

        wanted = list(minions or self.bed.minion_ids)
        deadline = time.monotonic() + timeout
        dirs = {}
        while True:
            if len(dirs) < len(self.jids):
                by_jid = self._job_dirs()
                dirs = {r: by_jid[j] for r, j in self.jids.items() if j in by_jid}
            for r in self.rounds:
                got = self.returns.setdefault(r, {})
                for m in wanted:
                    if m in got or r not in dirs:
                        continue
                    path = dirs[r] / m / "return.p"
                    try:
                        got[m] = salt.payload.loads(path.read_bytes())["return"]
                    except (OSError, KeyError, ValueError, TypeError):
                        continue  # not there yet, or being written
            missing = {r: sorted(set(wanted) - set(self.returns[r])) for r in self.rounds}
            missing = {r: m for r, m in missing.items() if m}
            if not missing:
                break
            if time.monotonic() >= deadline:
                self.raw = {r: f"no return from {m} after {timeout}s" for r, m in missing.items()}
                break
            time.sleep(2)
        self.returned = time.monotonic()
        return self.returns

    def retries(self):
        """``{minion: refused stale patches}`` logged by every minion since the phase began."""
        found = {}
        for m, offset in self.logs.items():
            path = self.bed.minion_root(m) / "minion.log"
            with open(path, "rb") as handle:
                handle.seek(offset)
                found[m] = handle.read().decode(errors="replace").count(RETRY_LINE)
        return found


def _size(path):
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def settle(node, *, since, timeout=600, quiet=3.0):
    """Seconds from ``since`` until the cluster has no pending action and the CIB epoch stays put for ``quiet`` s."""
    deadline = time.monotonic() + timeout
    last = None
    stable_since = None
    while time.monotonic() < deadline:
        node.run(["crm_resource", "--wait", "--timeout", "60s"], check=False, timeout=120)
        root = etree.fromstring(node.run(["cibadmin", "--query"]).stdout.encode())
        version = (root.get("admin_epoch"), root.get("epoch"))
        now = time.monotonic()
        if version != last:
            last, stable_since = version, now
        elif now - stable_since >= quiet:
            return stable_since - since
        time.sleep(0.5)
    raise TimeoutError(f"the cluster did not settle within {timeout}s")


# ---------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------


def _states(ret):
    """``{state id: state return}`` of one minion's return, or None when it is not a state return."""
    if not isinstance(ret, dict):
        return None
    return {v.get("__id__", k): v for k, v in ret.items() if isinstance(v, dict)}


def _param(cib, rid, name):
    found = cib.xpath(
        "configuration/resources//primitive[@id=$r]/instance_attributes/nvpair[@name=$n]/@value", r=rid, n=name
    )
    return found[0] if len(found) == 1 else (found or None)


def _node_attr(cib, node, name):
    return cib.xpath("configuration/nodes/node[@uname=$u]/instance_attributes/nvpair[@name=$n]/@value", u=node, n=name)


def count(returns, cib, *, minions, killed=None, retries=None):
    """Count one phase: ``returns`` ``{round: {minion: ret}}``, ``cib`` the final CIB (lxml root).

    Returns ``{"survivors": row, "killed": row or None, "overlap": {...}, "problems": [...]}``,
    a row being runs, states, failed, lost, duplicated, retries. Runs of the ``killed``
    minion are counted in their own row; duplicates are the cluster's, counted on the
    survivors' row.
    """
    rows = {
        who: collections.Counter(runs=0, states=0, failed=0, lost=0, duplicated=0, retries=0)
        for who in ("survivors", "killed")
    }
    problems = []
    last_writer_values = set()
    for r, by_minion in sorted(returns.items()):
        for m in minions:
            who = "killed" if m == killed else "survivors"
            row = rows[who]
            row["runs"] += 1
            states = _states(by_minion.get(m))
            if states is None:
                row["failed"] += 1
                problems.append(f"{who}: round {r} on {m}: no state return: {str(by_minion.get(m))[:300]}")
                continue
            tag = f"{m}-{r}"
            row["states"] += len(states)
            for sid, st in sorted(states.items()):
                if st.get("result") is False:
                    row["failed"] += 1
                    problems.append(f"{who}: round {r} on {m}: {sid} failed: {str(st.get('comment'))[:300]}")
            ok = {sid for sid, st in states.items() if st.get("result") is True}

            def lost(what, *, _who=who, _row=row, _r=r, _m=m):
                _row["lost"] += 1
                problems.append(f"{_who}: round {_r} on {_m}: lost: {what}")

            # distinct
            if f"conc-{tag}" in ok and _param(cib, f"conc-{tag}", "fake") != tag:
                lost(f"conc-{tag} (fake={_param(cib, f'conc-{tag}', 'fake')!r})")
            if f"conc-{tag}-loc" in ok and not cib.xpath(
                "configuration/constraints/rsc_location[@id=$i][@rsc=$r]", i=f"conc-{tag}-loc", r=f"conc-{tag}"
            ):
                lost(f"conc-{tag}-loc")
            # updates
            if f"conc-upd-{tag}" in ok and _param(cib, f"conc-upd-{tag}", "fake") != f"updated-{tag}":
                lost(f"conc-upd-{tag} fake={_param(cib, f'conc-upd-{tag}', 'fake')!r}")
            if f"conc-attr-{tag}" in ok and _node_attr(cib, "n1", f"conc-{tag}") != [f"v{r}"]:
                lost(f"node attribute conc-{tag} on n1: {_node_attr(cib, 'n1', f'conc-{tag}')}")
            if "conc-last-writer" in ok:
                last_writer_values.add(tag)
            # removals
            if f"conc-gone-{tag}" in ok and cib.xpath("configuration//*[@id=$i]", i=f"conc-gone-{tag}"):
                lost(f"removal of conc-gone-{tag}")
            if f"conc-gone-{tag}-loc" in ok and cib.xpath("configuration//*[@id=$i]", i=f"conc-gone-{tag}-loc"):
                lost(f"removal of conc-gone-{tag}-loc")

    # The shared attribute: its last writer's value, from a run that reported it written.
    final = _node_attr(cib, "n1", "conc-last-writer")
    if last_writer_values and (len(final) != 1 or final[0] not in last_writer_values):
        rows["survivors"]["lost"] += 1
        problems.append(f"conc-last-writer on n1 is {final}, not a value a successful run wrote")

    overlap = overlapping(cib)
    for what, n in overlap.items():
        if n != 1:
            rows["survivors"]["duplicated"] += max(0, n - 1)
            problems.append(f"overlapping {what}: {n} in the CIB (1 expected)")
    ids = cib.xpath("//configuration//@id")
    dupes = sorted(i for i, n in collections.Counter(ids).items() if n > 1)
    if dupes:
        rows["survivors"]["duplicated"] += len(dupes)
        problems.append(f"duplicate ids: {dupes}")
    for m, n in (retries or {}).items():
        rows["killed" if m == killed else "survivors"]["retries"] += n
    return {
        "survivors": dict(rows["survivors"]),
        "killed": dict(rows["killed"]) if killed else None,
        "overlap": overlap,
        "problems": problems,
    }


def overlapping(cib):
    """How many times each overlapping object is in the CIB (1 each when all is well)."""
    res = "configuration/resources//primitive[@type='Dummy']"

    def with_fake(value):
        return len(cib.xpath(f"{res}[instance_attributes/nvpair[@name='fake'][@value=$v]]", v=value))

    cons = "configuration/constraints"
    return {
        "Dummy fake=common-a": with_fake("common-a"),
        "Dummy fake=common-b": with_fake("common-b"),
        "location common-a on n2": len(cib.xpath(f"{cons}/rsc_location[@rsc='conc-common-a'][@node='n2']")),
        "colocation common-b with common-a": len(
            cib.xpath(f"{cons}/rsc_colocation[@rsc='conc-common-b'][@with-rsc='conc-common-a']")
        ),
        "order common-a then common-b": len(
            cib.xpath(f"{cons}/rsc_order[@first='conc-common-a'][@then='conc-common-b']")
        ),
        f"property {OVERLAP_PROPERTY[0]}": len(
            cib.xpath(
                "configuration/crm_config//nvpair[@name=$n][@value=$v]", n=OVERLAP_PROPERTY[0], v=OVERLAP_PROPERTY[1]
            )
        ),
        f"rsc_defaults {OVERLAP_DEFAULT[0]}": len(
            cib.xpath(
                "configuration/rsc_defaults//nvpair[@name=$n][@value=$v]", n=OVERLAP_DEFAULT[0], v=OVERLAP_DEFAULT[1]
            )
        ),
    }


def cleanup(node):
    """Remove everything the load made (direct cibadmin deletes: not what is measured)."""
    for xpath in (
        "//constraints/*[starts-with(@id,'conc-')]",
        "//resources/primitive[starts-with(@id,'conc-')]",
        "//nodes/node/instance_attributes/nvpair[starts-with(@name,'conc-')]",
        f"//crm_config//nvpair[@name='{OVERLAP_PROPERTY[0]}']",
        f"//rsc_defaults//nvpair[@name='{OVERLAP_DEFAULT[0]}']",
    ):
        # Exit 105: nothing matched.
        proc = node.run(["cibadmin", "--delete", "--delete-all", "--force", "--xpath", xpath], check=False)
        if proc.returncode not in (0, 105):
            raise RuntimeError(f"cleanup of {xpath} failed: {proc.stderr.strip()}")


def cib_of(node):
    return etree.fromstring(node.run(["cibadmin", "--query"]).stdout.encode())


def problems_text(result, limit=20):
    lines = result["problems"]
    more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more
