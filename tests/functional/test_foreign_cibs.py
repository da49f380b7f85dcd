"""CIBs no one here wrote: re-declaring what they hold changes nothing, and every write is reported.

Each test was written against a defect of issue 11 (the "Defects" list) and
failed before its fix. The rule every test holds: a state that reports no
change writes nothing (the CIB file's bytes and epoch stay), and every write
is reported, with the exact change.
"""

from lxml import etree


def epoch(cib_bytes):
    return int(etree.fromstring(cib_bytes).get("epoch"))


def ops_of(cib_bytes, resource):
    """``{(name, interval, role): {attr: value}}`` of a primitive's ops, ids left out."""
    root = etree.fromstring(cib_bytes)
    return {
        (op.get("name"), op.get("interval"), op.get("role")): {
            k: v for k, v in op.attrib.items() if k not in ("id", "name", "interval", "role")
        }
        for op in root.xpath("//primitive[@id=$r]/operations/op", r=resource)
    }


def dummy_with_ops(*ops):
    return f"""
    dummy:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - ops: [{", ".join(ops)}]
    """


def assert_nothing_reported_nothing_written(salt_env, sls):
    """Both test=True and the real run report no change, and the file stays byte for byte."""
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(sls, test=test)
        assert result.all_ok, result.failures()
        assert result.changed == set(), result.raw
    assert salt_env.cib_file.read_bytes() == before


# -- defect 1: an operation change is invisible ----------------------------------------------
def test_an_op_interval_change_is_reported_in_test_mode_and_when_written(salt_env):
    first = salt_env.sls(dummy_with_ops("{name: monitor, interval: 30s}"))
    assert first.all_ok, first.failures()
    before = salt_env.cib_file.read_bytes()
    assert_nothing_reported_nothing_written(salt_env, dummy_with_ops("{name: monitor, interval: 30s}"))

    moved = dummy_with_ops("{name: monitor, interval: 10s}")
    predicted = salt_env.sls(moved, test=True)
    assert predicted["dummy"]["result"] is None
    assert salt_env.cib_file.read_bytes() == before
    real = salt_env.sls(moved)
    assert real.all_ok, real.failures()
    expected = {
        "resource dummy": {
            "removed": {"op monitor 30s": "dummy-monitor-interval-30s", "op monitor 30s.timeout": "20s"},
            "added": {"op monitor 10s": "dummy-monitor-interval-10s", "op monitor 10s.timeout": "20s"},
        }
    }
    assert predicted["dummy"]["changes"] == expected
    assert real["dummy"]["changes"] == expected
    after = salt_env.cib_file.read_bytes()
    assert epoch(after) > epoch(before)
    assert {k[:2] for k in ops_of(after, "dummy")} >= {("monitor", "10s")}
    assert ("monitor", "30s") not in {k[:2] for k in ops_of(after, "dummy")}


def test_an_op_with_only_a_name_and_interval_is_reported_when_added(salt_env):
    salt_env.sls(dummy_with_ops("{name: monitor, interval: 10s}"))
    # An op the agent gives no advice for: nothing but a name and an interval lands in the CIB.
    added = dummy_with_ops("{name: monitor, interval: 10s}", "{name: notify, interval: 0s}")
    before = salt_env.cib_file.read_bytes()
    predicted = salt_env.sls(added, test=True)
    real = salt_env.sls(added)
    expected = {"resource dummy": {"added": {"op notify 0s": "dummy-notify-interval-0s"}}}
    assert predicted["dummy"]["changes"] == expected
    assert real["dummy"]["changes"] == expected
    assert ops_of(salt_env.cib_file.read_bytes(), "dummy")[("notify", "0s", None)] == {}
    assert epoch(salt_env.cib_file.read_bytes()) > epoch(before)
    assert_nothing_reported_nothing_written(salt_env, added)
