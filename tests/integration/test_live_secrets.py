"""No secret value in a real minion's channels (issue 12), on the live single-node cluster.

The channels only a real ``salt-call`` has: its JSON output and the minion's
own log file at debug (Salt's and ours), with a resource that really runs and
is really stopped before it is removed. The offline twin, with every channel,
is tests/functional/test_secret_channels.py.
"""

import json

import pytest
from lxml import etree

from tests.support.livecheck import cib, running_on, wait
from tests.support.saltcall import NodeMinion, failures

pytestmark = pytest.mark.live

FAKE, PASSWD = "Xyzzy-9911-fake", "Plugh-9912-passwd"


@pytest.fixture
def minion(live_cluster, tmp_path):
    return NodeMinion(live_cluster.node("n1"), tmp_path / "minion")


def test_a_real_minion_shows_no_secret_in_its_output_or_log(live_cluster, minion):
    node = live_cluster.node("n1")
    rsc = "it-secrets-a"
    minion.set_pillar({"vault": {"fake": FAKE, "passwd": PASSWD}})
    resource = f"""
    {rsc}:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params:
            fake: {{{{ pillar['vault']['fake'] }}}}
            passwd: {{{{ pillar['vault']['passwd'] }}}}
        - secret_params: [fake]
    """
    minion.write_sls("vault", resource)
    minion.write_sls("vaultdrop", resource.split("        - params:")[0] + "        - params: {}\n")
    minion.write_sls("vaultgone", f"{rsc}:\n  pcmk.resource_absent\n")
    outputs = []
    try:
        created = minion.apply("vault")
        assert not failures(created), failures(created)
        outputs.append(created)
        wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started on n1", 30)
        text = etree.tostring(cib(node), encoding="unicode")
        assert FAKE in text and PASSWD in text  # where they belong
        outputs.append(minion.apply("vault", test=True))
        outputs.append(minion.call("pcmk.resource_get", rsc, 'secret_params=["fake"]'))
        outputs.append(minion.call("pcmk.cib_dump", 'secret_params=["fake"]'))
        outputs.append(minion.call("pcmk.resource_delete", rsc, "test=True"))
        outputs.append(minion.apply("vaultgone", test=True))
        dropped = minion.apply("vaultdrop")
        assert not failures(dropped), failures(dropped)
        outputs.append(dropped)
        minion.apply("vault")
        gone = minion.apply("vaultgone")
        assert not failures(gone), failures(gone)
        outputs.append(gone)
    finally:
        minion.call("pcmk.resource_delete", rsc, check=False)
    shown = json.dumps(outputs)
    assert FAKE not in shown and PASSWD not in shown
    log = (minion.root / "minion.log").read_text()
    assert "pcmk" in log and "running ['cibadmin'" in log  # the log was written, at debug
    assert FAKE not in log and PASSWD not in log
