"""Which states after a pcmk state may share its write (utils/runplan.py), on hand-made low chunks."""

import pytest

from saltext.pcmk.utils import runplan

AGGREGATABLE = {"resource", "constraint"}
ARGUMENTS = {"resource": {"name", "agent", "params"}, "constraint": {"name", "kind", "first", "then"}}


def chunk(ident, fun="resource", state="pcmk", **extra):
    return {"state": state, "__id__": ident, "name": ident, "fun": fun, "__sls__": "site", "order": 10000, **extra}


def following(chunks, start="r1", running=None):
    plan = runplan.RunPlan(chunks, AGGREGATABLE, ARGUMENTS)
    return [c["__id__"] for c in plan.following(runplan.gen_tag(chunk(start)), running or {})]


def test_the_pcmk_states_right_after_join():
    chunks = [chunk("r1"), chunk("r2", agent="x"), chunk("c1", fun="constraint", kind="order", first="r1", then="r2")]
    assert following(chunks) == ["r2", "c1"]


@pytest.mark.parametrize(
    "stopper",
    [
        chunk("x", state="file", fun="managed"),
        chunk("x", fun="restart_pending"),
        chunk("x", aggregate=False),
        chunk("x", unless="true"),
        chunk("x", onlyif="true"),
        chunk("x", onchanges=[{"file": "conf"}]),
        chunk("x", watch=[{"file": "conf"}]),
        chunk("x", prereq=[{"file": "conf"}]),
        chunk("x", listen=[{"file": "conf"}]),
        chunk("x", retry={"attempts": 2}),
        chunk("x", parallel=True),
        chunk("x", failhard=True),
        chunk("x", typo_argument=1),
        chunk("x", require=[{"file": "later"}]),
        chunk("x", require=[{"pcmk": "r*"}]),
        chunk("x", require=[{"pcmk": "missing"}]),
    ],
    ids=lambda c: next((k for k in c if k not in chunk("x")), c["state"] + "." + c["fun"]),
)
def test_anything_that_could_change_when_or_whether_salt_runs_a_state_ends_the_stretch(stopper):
    chunks = [chunk("r1"), chunk("r2"), stopper, chunk("r3"), chunk("later", state="file", fun="managed")]
    assert following(chunks) == ["r2"]


def test_requisites_must_have_run_and_succeeded_or_be_in_the_stretch():
    ok = chunk("ok", state="test", fun="succeed_without_changes")
    bad = chunk("bad", state="test", fun="fail_without_changes")
    chunks = [ok, bad, chunk("r1"), chunk("r2", require=[{"pcmk": "r1"}, {"test": "ok"}, "r1"]), chunk("r3")]
    running = {runplan.gen_tag(ok): {"result": True}, runplan.gen_tag(bad): {"result": False}}
    assert following(chunks, running=running) == ["r2", "r3"]
    chunks[3] = chunk("r2", require=[{"test": "bad"}])
    assert following(chunks, running=running) == []
    chunks[3] = chunk("r2", require=[{"sls": "site"}])  # r2 itself and the states after it are in "site"
    assert following(chunks, running=running) == []


def test_the_state_itself_and_unknown_states_have_no_followers():
    chunks = [chunk("r1"), chunk("r2")]
    assert following(chunks, start="r2") == []
    assert following(chunks, start="nope") == []


@pytest.mark.parametrize(
    "opts, low, allowed",
    [
        ({}, {}, True),
        ({"failhard": True}, {}, False),
        ({}, {"failhard": True}, False),
        ({}, {"__prereq__": True}, False),
        ({"state_aggregate": ["pcmk"]}, {}, False),
        ({"state_aggregate": True}, {}, False),
        ({"state_aggregate": ["pkg"]}, {}, True),
        ({}, {"aggregate": False}, False),
    ],
)
def test_when_a_state_may_look_ahead(opts, low, allowed):
    assert runplan.lookahead_allowed(opts, low) is allowed
