"""``pcmk:minion_provider`` on a real master and three salt-minion daemons: one switch, taking effect.

The minions start with another service provider (``fakeinit_service``) in
their config and no drop-in, and may restart themselves the way Salt
restarts a minion that is not a system service (``minion_restart_command``,
see ``SaltBed.configure_minions``).  One ``state.apply pcmk.provider`` with
pillar ``pcmk:minion_provider: true`` must return its results, then each
minion restarts and answers with ``pcmk_service``, and a ``service.running``
of an HA service goes through the provider; applying it again changes
nothing and restarts nothing.  The same, back, with ``false``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from lxml import etree

from tests.support.livecheck import wait
from tests.support.saltbed import NODE_RUN_DIR

pytestmark = pytest.mark.multinode

OTHER_PROVIDER = {"service": "fakeinit_service"}
PCMK_PROVIDER = {"service": "pcmk_service"}
RESOURCE = "testsvc"
TIMINGS = {}


def pillar(minion_provider):
    return {
        # The stand-in formula tests/formulas/testsvc: a config file and service.running watching it.
        "testsvc": {
            "config": f"{NODE_RUN_DIR}/provider-testsvc.conf",
            "port": 1,
            "starts_file": f"{NODE_RUN_DIR}/provider-starts",
            "greeting": "hello",
        },
        "pcmk": {
            "minion_provider": minion_provider,
            "services": {
                RESOURCE: {
                    "ha": True,
                    "agent": "ocf:heartbeat:Dummy",
                    "restart": "none",
                    "ops": [{"name": "monitor", "interval": "10s"}],
                }
            },
        },
    }


def by_id(states):
    assert isinstance(states, dict), states
    return {v["__id__"]: v for v in states.values()}


def providers(bed):
    result = bed.salt(bed.minion_ids, "config.get", "providers")
    assert result.returncode == 0, result
    return result.data


def restart_scripts(bed):
    """Pids of the background restart processes pcmk.provider started on this bed's minions."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if b"PCMK_PROVIDER_RESTART" in cmdline and str(bed.workdir).encode() in environ:
            found.append(int(entry))
    return found


def apply_provider(bed):
    """``state.apply pcmk.provider`` on every minion at once: ``{minion: {state id: return}}``."""
    result = bed.salt(bed.minion_ids, "state.apply", "pcmk.provider", timeout=120)
    assert result.returncode == 0, result
    assert sorted(result.data) == bed.minion_ids, result
    return {m: by_id(states) for m, states in result.data.items()}


def wait_restarted(bed, pids, timeout=90):
    """Wait until every minion runs as a new process and answers; the new pids."""
    try:
        return bed.wait_minions_restarted(pids, timeout=timeout)
    except TimeoutError as exc:
        raise AssertionError(
            f"the minions did not restart within {timeout}s; config.get providers answers {providers(bed)}"
        ) from exc


def assert_no_change_no_restart(bed, pids):
    applied = apply_provider(bed)
    for minion_id, states in applied.items():
        assert all(s["result"] is True and not s["changes"] for s in states.values()), (minion_id, states)
    # A restart would be under way: its script waits for the run's job process to exit (seconds
    # after the return), then stops the minion.
    assert restart_scripts(bed) == []
    time.sleep(1)
    assert {m: bed.minion_pid(m) for m in bed.minion_ids} == pids
    assert restart_scripts(bed) == []


def resource_state(bed):
    """(agent of the primitive or None, nodes it runs on) as the cluster sees it."""
    node = next(n for n in bed.cluster.nodes if n.corosync_pids())
    cib = etree.fromstring(node.run(["cibadmin", "--query", "--scope", "resources"]).stdout.encode())
    primitives = cib.xpath(f"//primitive[@id='{RESOURCE}']")
    agent = ":".join(primitives[0].get(a) for a in ("class", "provider", "type")) if primitives else None
    mon = etree.fromstring(node.run(["crm_mon", "--one-shot", "--output-as=xml"]).stdout.encode())
    running = mon.xpath(f"//resource[@id='{RESOURCE}' and @active='true']/node/@name")
    return agent, sorted(running)


def remove_resource(bed):
    node = next(n for n in bed.cluster.nodes if n.corosync_pids())
    node.run(
        [
            "crm_resource",
            "--resource",
            RESOURCE,
            "--meta",
            "--set-parameter",
            "target-role",
            "--parameter-value",
            "Stopped",
        ],
        check=False,
    )
    wait(lambda: resource_state(bed)[1] == [], f"{RESOURCE} to stop", 60)
    node.run(["cibadmin", "--delete", "--xml-text", f'<primitive id="{RESOURCE}"/>'], check=False)


@pytest.fixture
def bed(salt_cluster):
    """The bed's minions, started with another service provider and allowed to restart themselves."""
    bed = salt_cluster
    began = time.monotonic()
    bed.configure_minions(self_restart=True, providers=OTHER_PROVIDER)
    TIMINGS["reconfigure the bed's minions"] = time.monotonic() - began
    try:
        yield bed
    finally:
        for minion_id in bed.minion_ids:
            (bed.minion_root(minion_id) / "conf" / "minion.d" / "pcmk-provider.conf").unlink(missing_ok=True)
        remove_resource(bed)
        bed.set_pillar({})
        bed.configure_minions(self_restart=False, providers=None)  # the bed's defaults again


def test_minion_provider_switches_the_running_minions_and_back(bed):
    ids = bed.minion_ids
    assert providers(bed) == {m: OTHER_PROVIDER for m in ids}
    assert resource_state(bed) == (None, [])
    pids = {m: bed.minion_pid(m) for m in ids}
    timings = TIMINGS

    # On: one apply writes the drop-in and returns its results (the restart waits for the run to end) ...
    bed.set_pillar(pillar(True))
    began = time.monotonic()
    applied = apply_provider(bed)
    timings["apply (on)"] = time.monotonic() - began
    for minion_id, states in applied.items():
        assert all(s["result"] is True for s in states.values()), (minion_id, states)
        dropin = states["pcmk-minion-provider"]
        assert dropin["changes"], (minion_id, dropin)
        assert Path(dropin["name"]) == bed.minion_root(minion_id) / "conf" / "minion.d" / "pcmk-provider.conf"
    # ... then every minion restarts by itself and answers with the provider.
    pids = wait_restarted(bed, pids)
    timings["until restarted (on)"] = time.monotonic() - began
    assert providers(bed) == {m: PCMK_PROVIDER for m in ids}

    # The unedited formula's service.running now goes through the provider on every minion.
    began = time.monotonic()
    result = bed.salt(ids, "state.apply", "testsvc", timeout=180)
    timings["apply testsvc (ha: true)"] = time.monotonic() - began
    assert result.returncode == 0, result
    for minion_id, states in result.data.items():
        service = by_id(states)[RESOURCE]
        assert service["result"] is True, (minion_id, service)
    agent, running = resource_state(bed)
    assert agent == "ocf:heartbeat:Dummy"
    assert len(running) == 1, running

    # Again: no change, no restart.
    assert_no_change_no_restart(bed, pids)

    # Off: the drop-in goes, the minions restart and have their own provider back.
    bed.set_pillar(pillar(False))
    began = time.monotonic()
    applied = apply_provider(bed)
    for minion_id, states in applied.items():
        assert all(s["result"] is True for s in states.values()), (minion_id, states)
        dropin = states["pcmk-minion-provider"]
        assert dropin["changes"] == {"removed": dropin["name"]}, (minion_id, dropin)
    pids = wait_restarted(bed, pids)
    timings["until restarted (off)"] = time.monotonic() - began
    assert providers(bed) == {m: OTHER_PROVIDER for m in ids}
    assert_no_change_no_restart(bed, pids)
    print("timings:", {k: round(v, 1) for k, v in timings.items()})
