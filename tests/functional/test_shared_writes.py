"""Without ``state_aggregate``, a stretch of pcmk states shares one CIB write (``utils/runplan.py``).

Each state still reports its own part and fails on its own; a state Salt might
not run, or might run differently, is never written ahead of its turn.
"""

from lxml import etree

from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.tools import ToolRunner


def epoch(path):
    return int(etree.parse(str(path)).getroot().get("epoch"))


def resource_ids(path):
    return cibmod.read(ToolRunner(cib_file=path)).resource_ids()


def dummy(name, extra=""):
    return f"""
{name}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
{extra}"""


STRETCH = (
    "".join(dummy(f"r{i}") for i in range(1, 6))
    + """
r1-then-r5:
  pcmk.constraint:
    - kind: order
    - first: r1
    - then: r5
"""
)


def test_a_stretch_of_states_is_one_write_and_each_reports_its_own(salt_env):
    before = epoch(salt_env.cib_file)
    result = salt_env.sls(STRETCH)
    assert result.all_ok, result.failures()
    assert epoch(salt_env.cib_file) - before == 1
    for i in range(1, 6):
        assert set(result[f"r{i}"]["changes"]) == {f"resource r{i}"}
    assert set(result["r1-then-r5"]["changes"]) == {"constraint r1-then-r5"}
    assert "in one CIB write with the 5 pcmk state(s) after it" in result["r1"]["comment"]
    assert "in the CIB write of pcmk_|-r1_|-r1_|-resource" in result["r5"]["comment"]
    assert "+ resource r5" in result["r5"]["comment"]
    # A second run reads once and writes nothing.
    text = salt_env.cib_text()
    again = salt_env.sls(STRETCH)
    assert again.all_ok and again.changed == set()
    assert salt_env.cib_text() == text


def test_test_mode_predicts_each_state_and_writes_nothing(salt_env):
    text = salt_env.cib_text()
    result = salt_env.sls(STRETCH, test=True)
    assert {v["result"] for v in result.by_id.values()} == {None}
    assert set(result["r3"]["changes"]) == {"resource r3"}
    assert salt_env.cib_text() == text


def test_a_refused_state_fails_alone_and_the_states_after_it_take_their_turn(salt_env):
    sls = (
        dummy("r1")
        + dummy("r2")
        + dummy("bad", "    - params: {no_such_parameter: 1}\n")
        + dummy("r3")
        + """
r1-then-r3:
  pcmk.constraint:
    - kind: order
    - first: r1
    - then: r3
"""
    )
    before = epoch(salt_env.cib_file)
    result = salt_env.sls(sls)
    assert set(result.failures()) == {"bad"}
    assert "no_such_parameter" in result["bad"]["comment"]
    assert result.changed == {"r1", "r2", "r3", "r1-then-r3"}
    assert resource_ids(salt_env.cib_file) == {"r1", "r2", "r3"}
    # r1 wrote r2 with it; r3 wrote the constraint with it.
    assert epoch(salt_env.cib_file) - before == 2
    assert "in the CIB write of pcmk_|-r1_|-r1_|-resource" in result["r2"]["comment"]
    assert "in the CIB write of pcmk_|-r3_|-r3_|-resource" in result["r1-then-r3"]["comment"]


def test_a_state_salt_might_skip_is_not_written_ahead(salt_env):
    sls = (
        """
failing:
  test.fail_without_changes
passing:
  test.succeed_without_changes
"""
        + dummy("r1")
        + dummy("r2", "    - unless: 'true'\n")
        + dummy("r3", "    - require:\n      - test: failing\n")
        + dummy("r4", "    - require:\n      - test: passing\n      - pcmk: r1\n")
    )
    before = epoch(salt_env.cib_file)
    result = salt_env.sls(sls)
    assert resource_ids(salt_env.cib_file) == {"r1", "r4"}
    assert result["r2"]["result"] is True and not result["r2"]["changes"]  # unless: true skips it
    assert result["r3"]["result"] is False and "requisite" in result["r3"]["comment"].lower()
    assert set(result["r4"]["changes"]) == {"resource r4"}
    # r1 alone (r2 has a condition, which ends the stretch), then r4 on its own.
    assert epoch(salt_env.cib_file) - before == 2


def test_other_states_in_between_end_the_stretch(salt_env):
    sls = dummy("r1") + "\nbetween:\n  test.succeed_without_changes\n" + dummy("r2")
    before = epoch(salt_env.cib_file)
    result = salt_env.sls(sls)
    assert result.all_ok and result.changed == {"r1", "r2"}
    assert epoch(salt_env.cib_file) - before == 2


def test_failhard_runs_write_state_by_state(salt_env):
    salt_env.configure(failhard=True)
    before = epoch(salt_env.cib_file)
    result = salt_env.sls(dummy("r1") + dummy("r2") + dummy("r3"))
    assert result.all_ok and result.changed == {"r1", "r2", "r3"}
    assert epoch(salt_env.cib_file) - before == 3
