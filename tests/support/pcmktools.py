"""Skip helpers: what the machine has of Pacemaker."""

import os
import shutil

import pytest

TOOLS = ("cibadmin", "crm_diff", "crm_verify", "crm_resource", "crm_mon")


def needs_pacemaker_tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"Pacemaker tools missing: {', '.join(missing)} (apt-get install pacemaker-cli-utils)")


def needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (starts corosync and pacemakerd in namespaces)")
