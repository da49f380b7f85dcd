"""Deploying OCF agents with pcmk.ocf_agent: real files, real Pacemaker meta-data reads."""

import os
import pathlib
import shutil
import subprocess
import uuid

import pytest

from saltext.pcmk.utils import agents as agentfiles

GOOD = """#!/bin/sh
# A tiny agent for tests; VERSION marks which copy is installed.
VERSION={version}
case "$1" in
  meta-data) cat <<END
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="t" version="$VERSION">
<version>1.0</version>
<longdesc lang="en">test agent</longdesc>
<shortdesc lang="en">test agent</shortdesc>
<parameters>
<parameter name="colour" required="0" unique="0"><longdesc lang="en">c</longdesc><shortdesc lang="en">c</shortdesc><content type="string" default="red"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
END
  exit 0;;
  validate-all) exit 0;;
  start|stop) exit 0;;
  monitor) exit 7;;
  *) exit 3;;
esac
"""

BROKEN = {
    "syntax error": "#!/bin/sh\nif then fi\n",
    "meta-data not xml": "#!/bin/sh\n[ \"$1\" = meta-data ] && echo 'hello' ; exit 0\n",
    "no monitor action": GOOD.format(version="x").replace('<action name="monitor" timeout="20s" interval="10s"/>', ""),
    "validate-all crashes": GOOD.format(version="x").replace("validate-all) exit 0;;", "validate-all) kill -SEGV $$;;"),
    "wrong root element": "#!/bin/sh\necho '<agent/>'\n",
}


@pytest.fixture
def provider():
    if os.geteuid() != 0:
        pytest.skip("installing agents under /usr/lib/ocf needs root")
    name = f"saltext-t{uuid.uuid4().hex[:8]}"
    yield name
    shutil.rmtree(os.path.join(agentfiles.OCF_ROOT, "resource.d", name), ignore_errors=True)


def deploy_sls(provider, source, agent_type="t"):
    return f"""
    agent:
      pcmk.ocf_agent:
        - provider: {provider}
        - agent_type: {agent_type}
        - source: {source}
    """


def test_shipped_agent_installs_with_mode_and_is_idempotent(salt_env, provider):
    sls = f"""
    openstack-service:
      pcmk.ocf_agent:
        - provider: {provider}
    """
    first = salt_env.sls(sls)
    assert first.all_ok, first.failures()
    path = agentfiles.agent_path(provider, "openstack-service")
    stat = os.stat(path)
    assert (stat.st_mode & 0o7777, stat.st_uid, stat.st_gid) == (0o755, 0, 0)
    meta = subprocess.run(
        ["crm_resource", "--show-metadata", f"ocf:{provider}:openstack-service"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 'name="binary"' in meta.stdout
    assert salt_env.sls(sls).changed == set()
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".")]


def test_changed_agent_shows_diff_in_test_mode_then_replaces(salt_env, provider, tmp_path):
    source = tmp_path / "t"
    source.write_text(GOOD.format(version="1"))
    assert salt_env.sls(deploy_sls(provider, source)).all_ok
    source.write_text(GOOD.format(version="2"))
    preview = salt_env.sls(deploy_sls(provider, source), test=True)
    assert "-VERSION=1" in preview["agent"]["changes"]["diff"] and "+VERSION=2" in preview["agent"]["changes"]["diff"]
    assert "VERSION=1" in pathlib.Path(agentfiles.agent_path(provider, "t")).read_text(encoding="utf-8")
    assert salt_env.sls(deploy_sls(provider, source)).changed == {"agent"}
    assert "VERSION=2" in pathlib.Path(agentfiles.agent_path(provider, "t")).read_text(encoding="utf-8")


@pytest.mark.parametrize("flaw", sorted(BROKEN))
def test_broken_agent_is_refused_and_the_old_one_keeps_working(salt_env, provider, tmp_path, flaw):
    good = tmp_path / "good"
    good.write_text(GOOD.format(version="1"))
    assert salt_env.sls(deploy_sls(provider, good)).all_ok
    path = agentfiles.agent_path(provider, "t")
    before = pathlib.Path(path).read_bytes()

    bad = tmp_path / "bad"
    bad.write_text(BROKEN[flaw])
    result = salt_env.sls(deploy_sls(provider, bad))
    (comment,) = result.failures().values()
    assert f"agent ocf:{provider}:t" in comment
    assert pathlib.Path(path).read_bytes() == before
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".")]
    meta = subprocess.run(["crm_resource", "--show-metadata", f"ocf:{provider}:t"], capture_output=True, text=True)
    assert meta.returncode == 0 and 'version="1"' in meta.stdout


@pytest.mark.parametrize("provider_name, agent_type", [("../etc", "t"), ("ok", "a/b"), ("ok", ".."), ("", "t")])
def test_unsafe_names_are_refused(salt_env, provider_name, agent_type, tmp_path):
    source = tmp_path / "t"
    source.write_text(GOOD.format(version="1"))
    result = salt_env.sls(f"""
    agent:
      pcmk.ocf_agent:
        - provider: "{provider_name}"
        - agent_type: "{agent_type}"
        - source: {source}
    """)
    assert "is not a safe name" in result.failures()["agent"]


def test_agent_state_before_resource_in_one_run(salt_env, provider, tmp_path):
    """The documented ordering: the resource requires the agent state on the same node."""
    source = tmp_path / "t"
    source.write_text(GOOD.format(version="1"))
    result = salt_env.sls(f"""
    agent:
      pcmk.ocf_agent:
        - provider: {provider}
        - agent_type: t
        - source: {source}
    colourful:
      pcmk.resource:
        - agent: ocf:{provider}:t
        - params: {{colour: blue}}
        - require:
          - pcmk: agent
    """)
    assert result.all_ok, result.failures()
    assert result["colourful"]["changes"]["resource colourful"]["created"]["params.colour"] == "blue"


def test_resource_naming_missing_agent_fails_clearly(salt_env, provider):
    result = salt_env.sls(f"""
    colourful:
      pcmk.resource:
        - agent: ocf:{provider}:t
    """)
    assert f"agent ocf:{provider}:t is not installed on this node" in result.failures()["colourful"]


def test_ocf_tester_option_runs_the_real_tester(salt_env, provider, tmp_path):
    """ocf_tester drives the shipped agent through start/monitor/stop with a real daemon."""
    if shutil.which("ocf-tester") is None:
        pytest.skip("ocf-tester not installed (resource-agents)")
    from tests.support import testservice

    tmp_path.chmod(0o755)
    daemon = testservice.install_daemon(tmp_path / "bin")
    port = testservice.free_port()
    config = tmp_path / "svc.conf"
    config.write_text(testservice.config_text(port, tmp_path / "starts"))
    testservice.world_readable(config)
    params = {
        "binary": str(daemon),
        "config": str(config),
        "pid": str(tmp_path / "svc.pid"),
        "monitor_url": f"http://127.0.0.1:{port}/health",
    }
    sls = f"""
    openstack-service:
      pcmk.ocf_agent:
        - provider: {provider}
        - ocf_tester:
            params: {params!r}
    """
    result = salt_env.sls(sls)
    assert result.all_ok, result.failures()
    assert len(testservice.starts(tmp_path / "starts")) >= 1  # the tester really started the daemon
    assert not testservice.pids_of(daemon)  # ... and stopped it

    os.unlink(agentfiles.agent_path(provider, "openstack-service"))
    params["binary"] = str(tmp_path / "no-such-daemon")
    refused = salt_env.sls(sls.replace(str(daemon), params["binary"]))
    assert "ocf-tester failed" in refused.failures()["openstack-service"]
    assert not os.path.exists(agentfiles.agent_path(provider, "openstack-service"))
