"""``make demo`` as a new user meets it: no agent of ours under /usr/lib/ocf yet.

The demo runs in a mount namespace of its own where
/usr/lib/ocf/resource.d/saltext is an empty tmpfs, so whatever an earlier run
installed on this machine is out of sight (the real run deploys the agent
into that tmpfs, and it is gone with the namespace).
"""

import os
import pathlib
import subprocess
import sys

import pytest

from tests.support.fixtures import _skip_unless_cluster_can_run

REPO = pathlib.Path(__file__).resolve().parents[2]
AGENT_DIR = "/usr/lib/ocf/resource.d/saltext"

pytestmark = pytest.mark.live


def test_demo_passes_where_the_agent_was_never_installed(tmp_path):
    _skip_unless_cluster_can_run()
    os.makedirs(AGENT_DIR, exist_ok=True)  # a mount point; stays empty on the host
    script = f'mount -t tmpfs -o mode=0755 tmpfs {AGENT_DIR} && test -z "$(ls -A {AGENT_DIR})" && exec sh demo/run.sh'
    env = dict(os.environ, VENV=str(pathlib.Path(sys.executable).parents[1]), DEMO_WORKDIR=str(tmp_path / "demo"))
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "would be installed" in output  # test=True saw the agent as a candidate
    assert "ocf:saltext:openstack-service" in output
    assert "demo-api" in output and "Started" in output
