"""Bad input is refused before anything is written, naming the culprit, and
``test=True`` predicts it (issue 12: tracebacks, unclear or misplaced refusals).

Each case runs on a CIB holding good objects, with ``test=True`` and for real:
the state fails, its comment names the culprit, the CIB file is byte for byte
what it was, and no traceback or Python exception class leaks into the comment.
"""

import os
import re
import subprocess

import pytest

from tests.functional.test_configuration_language import with_node_and_no_fencing

GOOD = """
good:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
other:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
c-loc:
  pcmk.constraint:
    - kind: location
    - rsc: good
    - node: n1
    - score: 50
"""

# Python's exception class names (and lxml's) that must never reach a user.
LEAKS = re.compile(
    r"Traceback|\b(?:[A-Z][A-Za-z]*Error|[A-Z][A-Za-z]*Exception|KeyError|StopIteration)\b(?!:? *\w+ *=)"
)


def no_leak(message):
    leaked = [m for m in LEAKS.findall(message) if m not in ("SpecError",)]
    assert not leaked, message


@pytest.fixture
def good_env(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    result = salt_env.sls(GOOD)
    assert result.all_ok, result.failures()
    return salt_env


# (case id, SLS of one bad state called "bad", words its comment must hold)
CASES = [
    (
        "nul-in-param",
        'bad:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - params: {state: "a\\0b"}\n',
        ["params.state", "control character"],
    ),
    (
        "control-char-in-param",
        'bad:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - params: {state: "a\\x01b"}\n',
        ["params.state", "control character"],
    ),
    (
        "newline-in-param",
        'bad:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - params: {state: "a\\nb"}\n',
        ["params.state", "newline"],
    ),
    (
        "tab-in-meta",
        'bad:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - meta: {note: "a\\tb"}\n',
        ["meta.note", "tab"],
    ),
    (
        "op-attribute-name-with-metacharacters",
        "bad:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n"
        '    - ops:\n      - {name: monitor, interval: 10s, "a<b": 1}\n',
        ["a<b"],
    ),
    (
        "op-attribute-unknown-to-the-schema",
        "bad:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n"
        "    - ops:\n      - {name: monitor, interval: 10s, bogus: 1}\n",
        ["bad", "bogus"],
    ),
    (
        "node-attribute-node-as-list",
        "bad:\n  pcmk.node_attribute:\n    - node: [n1]\n    - value: 1\n",
        ["bad", "node"],
    ),
    (
        "order-kind-misspelt",
        "bad:\n  pcmk.constraint:\n    - kind: order\n    - first: good\n    - then: other\n"
        "    - order_kind: Mandtory\n",
        ["bad", "Mandtory"],
    ),
    (
        "rule-operation-misspelt",
        "bad:\n  pcmk.constraint:\n    - kind: location\n    - rsc: good\n"
        "    - rules:\n      - score: -INFINITY\n        expressions:\n"
        "          - {attribute: pingd, operation: equalz, value: 0}\n",
        ["bad", "equalz"],
    ),
]


@pytest.mark.parametrize("test", [True, False], ids=["test", "real"])
@pytest.mark.parametrize("case,sls,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_culprit(good_env, case, sls, words, test):
    before = good_env.cib_file.read_bytes()
    result = good_env.sls(sls, test=test)
    failures = result.failures()
    assert "bad" in failures, (case, result.raw)
    message = failures["bad"]
    for word in words:
        assert word in message, (case, message)
    assert "c-loc" not in message, message  # never an unrelated good object
    no_leak(message)
    assert good_env.cib_file.read_bytes() == before


def test_test_mode_and_real_run_refuse_alike(good_env):
    """test=True reports the refusal the real run makes, with the same message."""
    sls = CASES[7][1]
    dry = good_env.sls(sls, test=True).failures()["bad"]
    real = good_env.sls(sls).failures()["bad"]
    assert dry == real


# -- execution functions ------------------------------------------------------------------
def call(env, fun, *args, **kwargs):
    from salt.exceptions import CommandExecutionError  # pylint: disable=import-outside-toplevel

    with pytest.raises(CommandExecutionError) as info:
        env.loaders.modules[f"pcmk.{fun}"](*args, **kwargs)
    message = str(info.value)
    no_leak(message)
    return message


def test_verify_of_a_missing_file_names_it(good_env):
    message = call(good_env, "verify", path="/nonexistent/cib.xml")
    assert "/nonexistent/cib.xml" in message and "does not exist" in message


def test_verify_of_a_garbage_file_names_it(good_env, tmp_path):
    garbage = tmp_path / "garbage.xml"
    garbage.write_text("<cib><unclosed>")
    message = call(good_env, "verify", path=str(garbage))
    assert str(garbage) in message and "not XML" in message


def test_cib_dump_into_a_missing_directory_names_it(good_env):
    message = call(good_env, "cib_dump", path="/nonexistent/dir/x.xml")
    assert "/nonexistent/dir/x.xml" in message and "No such file" in message


def test_a_service_that_is_not_a_mapping_in_pillar_is_named(good_env):
    result = good_env.sls(
        "nova-api:\n  pcmk.service_provider: []\n",
        pillar={"pcmk": {"services": {"nova-api": "ha"}}},
    )
    message = result.failures()["nova-api"]
    assert "pcmk:services:nova-api" in message
    no_leak(message)


# -- CIB_file problems ----------------------------------------------------------------------
def _missing(path):
    path.unlink()


def _empty(path):
    path.write_text("")


def _garbage(path):
    path.write_text("this is not a CIB <")


def _directory(path):
    path.unlink()
    path.mkdir()


def _unknown_schema(path):
    text = path.read_text()
    path.write_text(re.sub(r'validate-with="[^"]+"', 'validate-with="pacemaker-9.9"', text))


def _read_only(path):
    os.chmod(path, 0o444)


FILE_CASES = [
    ("missing", _missing, "does not exist"),
    ("empty", _empty, "is empty"),
    ("garbage", _garbage, "is not XML"),
    ("directory", _directory, "is a directory"),
    ("unknown-schema", _unknown_schema, "pacemaker-9.9"),
]


@pytest.mark.parametrize("case,spoil,words", FILE_CASES, ids=[c[0] for c in FILE_CASES])
@pytest.mark.parametrize("test", [True, False], ids=["test", "real"])
def test_cib_file_problems_name_the_file_and_the_cause(salt_env, case, spoil, words, test):
    with_node_and_no_fencing(salt_env.cib_file)
    spoil(salt_env.cib_file)
    result = salt_env.sls(GOOD, test=test)
    message = result.failures().get("good", "")
    assert str(salt_env.cib_file) in message and words in message, (case, result.raw)
    no_leak(message)


def test_a_read_only_cib_file_is_named_before_writing(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    _read_only(salt_env.cib_file)
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls(GOOD)
    message = result.failures().get("good", "")
    if os.geteuid() == 0:
        # root writes a 0444 file all the same: Pacemaker's file backend does.
        assert result.all_ok or str(salt_env.cib_file) in message
    else:
        assert str(salt_env.cib_file) in message and "not writable" in message
        assert salt_env.cib_file.read_bytes() == before


def _chattr(path, flag):
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False).returncode == 0


def test_an_immutable_cib_file_is_named_before_writing(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    if not _chattr(salt_env.cib_file, "+i"):
        pytest.skip("chattr +i is not supported on this file system")
    try:
        before = salt_env.cib_file.read_bytes()
        for test in (True, False):
            result = salt_env.sls(GOOD, test=test)
            message = result.failures().get("good", "")
            assert str(salt_env.cib_file) in message and "immutable" in message, result.raw
            no_leak(message)
        assert salt_env.cib_file.read_bytes() == before
    finally:
        _chattr(salt_env.cib_file, "-i")


# -- aggregation: the state that caused a failure reports it ------------------------------
AGGREGATED = """
web:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
web-loc:
  pcmk.constraint:
    - kind: location
    - constraint_id: good
    - rsc: web
    - node: n1
    - score: 10
"""


@pytest.mark.parametrize("test", [True, False], ids=["test", "real"])
def test_with_state_aggregate_the_failing_state_reports_its_own_failure(good_env, test):
    """The constraint's id is the resource good's: the constraint fails, with its own
    message, and the resource aggregated with it is written as it would be alone."""
    good_env.configure(state_aggregate=["pcmk"])
    result = good_env.sls(AGGREGATED, test=test)
    failures = result.failures()
    assert set(failures) == {"web-loc"}, result.raw
    assert "'good'" in failures["web-loc"], failures
    no_leak(failures["web-loc"])
    assert result["web"]["result"] is (None if test else True) and "resource web" in result["web"]["changes"]
    alone = good_env.cib_file.read_bytes()
    if not test:
        # What the resource state alone writes, and nothing of the constraint.
        assert b'id="web"' in alone and b"web-loc" not in alone
        assert good_env.sls(AGGREGATED).failures() == failures
        assert good_env.cib_file.read_bytes() == alone


# -- why a newline or tab is refused: Pacemaker's patch path does not keep it -------------------
def test_crm_diff_does_not_keep_a_newline_or_a_tab_in_an_attribute(tmp_path):
    """Measured, so the refusal of newlines and tabs stays justified: should a
    Pacemaker keep them, this fails and the check can let them through."""
    empty = subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True).stdout
    original, new = tmp_path / "original.xml", tmp_path / "new.xml"
    original.write_text(empty)
    new.write_text(
        empty.replace('num_updates="0"', 'num_updates="1"').replace(
            "<resources/>",
            '<resources><primitive id="d" class="ocf" provider="pacemaker" type="Dummy">'
            '<instance_attributes id="d-ia"><nvpair id="d-ia-x" name="x" value="a&#10;b&#9;c"/>'
            "</instance_attributes></primitive></resources>",
        )
    )
    patch = subprocess.run(
        ["crm_diff", "--original", str(original), "--new", str(new)], capture_output=True, text=True, check=False
    ).stdout
    assert 'value="a\\nb    c"' in patch, patch  # a backslash and an n; four spaces


def test_the_execution_module_refuses_a_newline_as_the_state_does(good_env):
    before = good_env.cib_file.read_bytes()
    message = call(good_env, "resource_create", "bad", "ocf:pacemaker:Dummy", params={"state": "a\nb"})
    assert "resource 'bad'" in message and "params.state" in message and "newline" in message
    message = call(good_env, "property_set", "cluster-name", "a\x00b")
    assert "cluster-name" in message and "control character" in message
    assert good_env.cib_file.read_bytes() == before


AGGREGATED_SCHEMA = """
web:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
bad:
  pcmk.constraint:
    - kind: order
    - first: good
    - then: other
    - order_kind: Mandtory
after:
  pcmk.property:
    - value: 5min
    - name: cluster-recheck-interval
"""


@pytest.mark.parametrize("test", [True, False], ids=["test", "real"])
def test_with_state_aggregate_a_schema_refusal_is_the_state_at_faults(good_env, test):
    """A check of the whole write fails: the first state whose own step fails it is named,
    with the same message as without aggregation, and the others are written."""
    good_env.configure(state_aggregate=["pcmk"])
    result = good_env.sls(AGGREGATED_SCHEMA, test=test)
    failures = result.failures()
    assert set(failures) == {"bad"}, result.raw
    assert "kind='Mandtory'" in failures["bad"] and "c-loc" not in failures["bad"]
    assert result["web"]["changes"] and result["after"]["changes"], result.raw
    if not test:
        text = good_env.cib_file.read_text()
        assert 'id="web"' in text and "cluster-recheck-interval" in text and "Mandtory" not in text
