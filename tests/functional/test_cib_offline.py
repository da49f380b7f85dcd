"""The CIB engine against real Pacemaker tools on offline CIB files (CIB_file)."""

import threading
import time

import pytest
from lxml import etree

from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.cib import specs as model
from saltext.pcmk.utils.cib.session import Session
from saltext.pcmk.utils.cluster import status
from saltext.pcmk.utils.errors import CibInvalid, CibWriteRetriesExhausted, SpecError
from saltext.pcmk.utils.tools import ToolRunner


def epoch(path):
    return int(etree.parse(str(path)).getroot().get("epoch"))


def dummy(name, **kwargs):
    return model.ResourceSpec.build(name, "ocf:pacemaker:Dummy", **kwargs)


def test_create_update_delete_and_idempotence(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    specs = [
        dummy("d1", params={"fake": "a"}, ops=[{"name": "monitor", "interval": "10s"}]),
        model.ConstraintSpec.build("d1-on-n1", "location", rsc="d1", node="n1", score=50),
    ]
    first = Session(runner).converge(specs)
    assert first.written and set(first.changes) == {"resource d1", "constraint d1-on-n1"}
    written_epoch = epoch(cib_file)

    again = Session(runner).converge(specs)
    assert not again.changed and not again.written
    assert epoch(cib_file) == written_epoch

    Session(runner).converge([dummy("d1", params={"fake": "b"})])
    assert cibmod.read(runner).by_id("d1-instance_attributes-fake").get("value") == "b"

    Session(runner).converge([model.ResourceAbsentSpec("d1")])
    after = cibmod.read(runner)
    assert after.resource("d1") is None and after.by_id("d1-on-n1") is None


def test_one_read_per_run_and_one_write_per_change(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    session = Session(runner)
    session.converge([dummy("d1")])
    session.converge([dummy("d2")])
    assert session.writes == 2
    assert runner.count("cibadmin") == 4  # read + patch for each write

    settled = ToolRunner(cib_file=cib_file)
    again = Session(settled)
    for spec in (dummy("d1"), dummy("d2"), dummy("d1")):
        assert not again.converge([spec]).changed
    assert settled.count("cibadmin") == 1  # unchanged states share the one read
    assert settled.count("crm_resource") == 1  # meta-data read once per agent


def test_schema_violation_leaves_file_byte_identical_and_names_element(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    Session(runner).converge([dummy("d1")])
    before = cib_file.read_bytes()
    bad = model.ConstraintSpec.build("bad-role", "location", rsc="d1", node="n1", score=10, role="Sideways")
    with pytest.raises(CibInvalid, match="rsc_location id='bad-role'"):
        Session(runner).converge([bad])
    assert cib_file.read_bytes() == before


def test_unknown_and_missing_agent_parameters_fail_before_writing(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    before = cib_file.read_bytes()
    with pytest.raises(SpecError, match="resource 'd1'.*no parameter 'colour'"):
        Session(runner).converge([dummy("d1", params={"colour": "red"})])
    with pytest.raises(SpecError, match="resource 'f1'.*requires parameter 'hostlist'"):
        Session(runner).converge([model.ResourceSpec.build("f1", "stonith:null", params={})])
    with pytest.raises(SpecError, match="resource 'x'.*ocf:nosuch:Thing is not installed"):
        Session(runner).converge([model.ResourceSpec.build("x", "ocf:nosuch:Thing")])
    assert cib_file.read_bytes() == before


def test_stale_read_is_refused_by_pacemaker_and_retried_without_losing_the_other_change(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    ours = Session(runner)
    ours.cib  # noqa: B018  (the read happens now; the other writer lands after it)
    Session(runner).converge([dummy("theirs")])
    outcome = ours.converge([dummy("mine")])
    assert outcome.written
    final = cibmod.read(runner)
    assert final.resource("theirs") is not None and final.resource("mine") is not None


def test_stale_versioned_patch_exits_103(cib_file):
    """The fact the write path stands on: Pacemaker itself refuses a stale versioned patch."""
    runner = ToolRunner(cib_file=cib_file)
    base = cibmod.read(runner)
    candidate = base.copy()
    model.ResourceSpec.build("d1", "ocf:pacemaker:Dummy", check_agent=False).apply(candidate, None)
    candidate.mark_changed()
    patch = cibmod.patch_for(runner, base, candidate)
    cibmod.apply_patch(runner, patch)
    with pytest.raises(cibmod.CibConflict) as info:
        cibmod.apply_patch(runner, patch)
    assert info.value.returncode == 103


def test_threads_racing_on_one_file_all_land(cib_file):
    errors = []

    def writer(n):
        try:
            Session(ToolRunner(cib_file=cib_file)).converge([dummy(f"r{n}")])
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert {f"r{n}" for n in range(4)} <= cibmod.read(ToolRunner(cib_file=cib_file)).resource_ids()


def test_status_reads_an_offline_cib(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    Session(runner).converge([dummy("d1"), model.AttributeSpec.build("property", "stonith-enabled", False)])
    current = status.read(runner)
    assert [r.id for r in current.resources] == ["d1"] and not current.stonith_enabled


def _move_status(path):
    """What an operation result does to a live CIB: num_updates moves, the configuration stays."""
    tree = etree.parse(str(path))
    root = tree.getroot()
    root.set("num_updates", str(int(root.get("num_updates", "0")) + 1))
    tree.write(str(path))


def test_stale_only_by_status_reuses_the_change_already_computed_and_checked(cib_file):
    """A patch refused because only the status moved is made again from a fresh read
    without computing or checking the change again (bench/concurrency.py: on a busy
    cluster operation results refuse most patches, and recomputing them all gave up)."""
    runner = ToolRunner(cib_file=cib_file)
    Session(runner).converge([dummy("theirs")])
    calls = {"compute": 0, "validate": 0}
    spec = dummy("mine")

    def compute(original, candidate):
        calls["compute"] += 1
        spec.apply(candidate, None)
        if calls["compute"] == 1:
            _move_status(cib_file)  # lands between our read and our patch
        return "described"

    def validate(original, candidate):
        calls["validate"] += 1

    outcome, written, _ = cibmod.write(runner, compute, validate=validate, sleep=lambda s: None)
    assert outcome == "described" and written is not None
    assert calls == {"compute": 1, "validate": 1}
    final = cibmod.read(runner)
    assert final.resource("theirs") is not None and final.resource("mine") is not None


def test_stale_by_another_writers_change_is_computed_and_checked_again(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    calls = {"compute": 0, "validate": 0}

    def compute(original, candidate):
        calls["compute"] += 1
        dummy("mine").apply(candidate, None)
        if calls["compute"] == 1:
            Session(runner).converge([dummy("theirs")])
        return calls["compute"]

    def validate(original, candidate):
        calls["validate"] += 1

    outcome, written, _ = cibmod.write(runner, compute, validate=validate, sleep=lambda s: None)
    assert outcome == 2 and written is not None and calls == {"compute": 2, "validate": 2}
    final = cibmod.read(runner)
    assert final.resource("theirs") is not None and final.resource("mine") is not None


def test_gives_up_after_the_attempts_and_says_so(cib_file, monkeypatch):
    runner = ToolRunner(cib_file=cib_file)
    delays = []
    real_apply = cibmod.apply_patch

    def stale_apply(runner, patch_text):
        _move_status(cib_file)  # every attempt is stale
        real_apply(runner, patch_text)

    monkeypatch.setattr(cibmod, "apply_patch", stale_apply)

    def compute(original, candidate):
        dummy("mine").apply(candidate, None)

    with pytest.raises(CibWriteRetriesExhausted, match="gave up after 4 attempts"):
        cibmod.write(runner, compute, retries=4, sleep=delays.append)
    assert len(delays) == 4 and all(0 <= d <= cibmod.BACKOFF_CAP for d in delays)
    assert cibmod.read(runner).resource("mine") is None
    # Out of patience before out of attempts: no new attempt once the time is up.
    ticks = iter(range(0, 10_000, 100))
    with pytest.raises(CibWriteRetriesExhausted, match=r"gave up after 3 attempts in 400s"):
        cibmod.write(runner, compute, retries=50, patience=250, sleep=delays.append, clock=lambda: next(ticks))
    assert cibmod.read(runner).resource("mine") is None


def test_writers_of_one_node_take_turns_and_a_long_wait_goes_ahead(tmp_path):
    class Live:
        offline = False

    lock = tmp_path / "run" / "cib-write.lock"
    order = []

    def second():
        with cibmod._node_turn(Live(), path=str(lock), wait=30):  # pylint: disable=protected-access
            order.append("second")

    with cibmod._node_turn(Live(), path=str(lock)):  # pylint: disable=protected-access
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]

    with cibmod._node_turn(Live(), path=str(lock)):  # pylint: disable=protected-access
        began = time.monotonic()
        with cibmod._node_turn(Live(), path=str(lock), wait=0.3):  # pylint: disable=protected-access
            waited = time.monotonic() - began
    assert 0.3 <= waited < 5
