"""What the live cluster says, read straight from Pacemaker's tools inside a node.

Tests check outcomes with these, independently of the library under test.
crm_mon shows an operation in flight as role Starting (active="true") or
Stopping (active="false"): only settled roles mean an operation finished.
"""

import time

from lxml import etree


def cib(node):
    return etree.fromstring(node.run(["cibadmin", "--query"]).stdout.encode())


def mon(node):
    return etree.fromstring(node.run(["crm_mon", "--one-shot", "--inactive", "--output-as=xml"]).stdout.encode())


def running_on(node, rsc):
    """Nodes where rsc (a primitive id) runs with its start finished."""
    return sorted(
        mon(node).xpath(
            "//resources//resource[@id=$r and @active='true' and "
            "(@role='Started' or @role='Promoted' or @role='Unpromoted')]/node/@name",
            r=rsc,
        )
    )


def stopped(node, rsc):
    """Every instance of rsc is Stopped, with no stop still in flight."""
    return all(r == "Stopped" for r in mon(node).xpath("//resources//resource[@id=$r]/@role", r=rsc))


def wait(predicate, what, timeout=60, interval=0.3):
    """Poll ``predicate`` until it returns something true; fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
