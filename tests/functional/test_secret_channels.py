"""No secret value in any channel (issue 12), after every state and function that touches one.

Two distinctive secrets are planted in a resource of a real agent installed for
the test (``vault``): ``conn``, secret because the state says so
(``secret_params``), and ``api_key``, secret because the agent's meta-data marks
it ``private="1"``; neither name looks secret. After each case the channels are
grepped for every secret value the case ever used:

- the return, whole and repr'd (a state's changes and comment included);
- every log record at every level, ours and Salt's (caplog at DEBUG);
- the argv of every child process (``subprocess.run`` observed, not replaced),
  and a real ``ps`` snapshot the agent takes while ocf-tester runs it;
- every file created or changed under the test's directories (its temporary
  directory included), but the CIB, the 0600 secret store, a ``cib_dump`` the
  case asked for (a copy of the CIB, checked to be 0600) and Salt's own copies
  of the SLS the test gave it (its file_roots and cachedir).

Then the secret must still be where it belongs: in the CIB, or in the 0600
secret store with ``secrets_in_cib: false``.
"""

import logging
import os
import shutil
import stat
import subprocess
import tempfile
import textwrap
import uuid

import pytest

from saltext.pcmk.utils import agents as agentfiles
from saltext.pcmk.utils.cib import secretfiles

CONN, CONN2 = "Xyzzy-4711-conn", "Xyzzy-4712-conn"
KEY, KEY2 = "Plugh-0815-apikey", "Plugh-0816-apikey"
SECRETS = (CONN, CONN2, KEY, KEY2)
LOCAL = "\n            - secrets_in_cib: false"

AGENT = r"""#!/bin/sh
# A test agent with a private parameter (OCF 1.1; the DOCTYPE declares the attribute for
# ocf-tester's DTD check); start snapshots the process table (ps).
: ${OCF_RESKEY_state:=/nonexistent}
case "$1" in
  meta-data) cat <<END
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd" [<!ATTLIST parameter private (0|1) "0">]>
<resource-agent name="vault" version="1">
<version>1.1</version>
<longdesc lang="en">test agent holding secrets</longdesc>
<shortdesc lang="en">vault</shortdesc>
<parameters>
<parameter name="state" required="0" unique="0"><longdesc lang="en">s</longdesc><shortdesc lang="en">s</shortdesc><content type="string"/></parameter>
<parameter name="colour" required="0" unique="0"><longdesc lang="en">c</longdesc><shortdesc lang="en">c</shortdesc><content type="string"/></parameter>
<parameter name="conn" required="0" unique="0"><longdesc lang="en">c</longdesc><shortdesc lang="en">c</shortdesc><content type="string"/></parameter>
<parameter name="api_key" required="0" unique="0" private="1"><longdesc lang="en">k</longdesc><shortdesc lang="en">k</shortdesc><content type="string"/></parameter>
<parameter name="fail" required="0" unique="0"><longdesc lang="en">f</longdesc><shortdesc lang="en">f</shortdesc><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="5s"/>
</actions>
</resource-agent>
END
  exit 0;;
  validate-all) exit 0;;
  start)
    ps -eo args >> "$OCF_RESKEY_state.ps" 2>/dev/null
    echo "connecting to $OCF_RESKEY_conn with key $OCF_RESKEY_api_key"
    if [ "$OCF_RESKEY_fail" = yes ]; then echo "refused: $OCF_RESKEY_conn $OCF_RESKEY_api_key" >&2; exit 1; fi
    touch "$OCF_RESKEY_state"; exit 0;;
  stop) rm -f "$OCF_RESKEY_state"; exit 0;;
  monitor) [ -e "$OCF_RESKEY_state" ] && exit 0; exit 7;;
  *) exit 3;;
esac
"""


@pytest.fixture
def bed(salt_env, tmp_path, monkeypatch, caplog):
    if os.geteuid() != 0:
        pytest.skip("installing an agent under /usr/lib/ocf needs root")
    provider = f"saltext-s{uuid.uuid4().hex[:8]}"
    store = tmp_path / "secrets"
    monkeypatch.setattr(secretfiles, "LRM_SECRETS_DIR", str(store))
    monkeypatch.setattr(secretfiles.SecretFiles.__init__, "__defaults__", (str(store),))
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    tmp_path.chmod(0o755)  # the agent (run as nobody for meta-data by ocf-tester) writes here as root
    (salt_env.roots / "vault").write_text(AGENT)
    yield Bed(salt_env, tmp_path, provider, store, monkeypatch, caplog)
    shutil.rmtree(os.path.join(agentfiles.OCF_ROOT, "resource.d", provider), ignore_errors=True)


class Bed:
    def __init__(self, env, tmp_path, provider, store, monkeypatch, caplog):
        self.env, self.tmp, self.provider, self.store, self.caplog = env, tmp_path, provider, store, caplog
        self.agent_dir = os.path.join(agentfiles.OCF_ROOT, "resource.d", provider)
        self.argvs = []
        self.allowed_files = {str(env.cib_file)}
        # Where the secrets belong (the 0600 store), and Salt's own copies of the SLS the
        # test hands it (file_roots, and the cachedir Salt compiles it into): the operator's input.
        self.theirs = tuple(f"{d}/" for d in (store, env.roots, env.opts["cachedir"]))
        real_run = subprocess.run

        def observed_run(args, *a, **kw):
            self.argvs.append([str(x) for x in (args if isinstance(args, (list, tuple)) else [args])])
            return real_run(args, *a, **kw)

        monkeypatch.setattr(subprocess, "run", observed_run)

    # -- what the cases run ----------------------------------------------------------
    def sls(self, text, test=False):
        return self.env.sls(textwrap.dedent(text), test=test).raw

    def fn(self, name, *args, **kwargs):
        try:
            return getattr(self.env.loaders.modules.pcmk, name)(*args, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            return exc  # an error's message is a channel too

    def install_agent(self, ocf_tester=None):
        tester = f"\n            - ocf_tester: {ocf_tester!r}" if ocf_tester is not None else ""
        return self.sls(f"""
        vault-agent:
          pcmk.ocf_agent:
            - provider: {self.provider}
            - agent_type: vault
            - source: salt://vault{tester}
        """)

    def resource(self, conn=CONN, key=KEY, extra="", params_extra=""):
        return f"""
        vault:
          pcmk.resource:
            - agent: ocf:{self.provider}:vault
            - params: {{state: {self.tmp}/vault.state, colour: blue, conn: {conn}, api_key: {key}{params_extra}}}
            - secret_params: [conn]{extra}
        """

    # -- the channels ------------------------------------------------------------------
    def files(self):
        found = {}
        for root in (str(self.tmp), self.agent_dir):
            for dirpath, _, names in os.walk(root):
                for name in names:
                    path = os.path.join(dirpath, name)
                    st = os.lstat(path)
                    found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return found

    def start(self):
        self.caplog.clear()
        self.caplog.set_level(logging.DEBUG)
        self.argvs.clear()
        self.before = self.files()

    def leaks(self, ret):
        hits = []

        def grep(channel, text):
            hits.extend(f"{channel}: {secret}" for secret in SECRETS if secret in text)

        grep("return", repr(ret))
        for record in self.caplog.records:
            text = record.getMessage() + (record.exc_text or "")
            if record.exc_info:
                text += logging.Formatter().formatException(record.exc_info)
            grep(f"log {record.levelname} {record.name}", text)
        for argv in self.argvs:
            grep(f"argv {argv[0]}", " ".join(argv))
        for path, seen in self.files().items():
            if self.before.get(path) == seen or path in self.allowed_files or path.startswith(self.theirs):
                continue
            if os.path.islink(path):
                continue
            with open(path, "rb") as handle:
                grep(f"file {path}", handle.read().decode("utf-8", "replace"))
        return hits

    def in_cib(self, value):
        return value in self.env.cib_text()

    def in_store(self, value):
        path = self.store / "vault" / ("conn" if value in (CONN, CONN2) else "api_key")
        return path.exists() and path.read_text() == value + "\n" and stat.S_IMODE(path.stat().st_mode) == 0o600


# Each case: (setup, action, where the secrets are afterwards). ``setup`` runs before the
# channels are watched; ``action`` returns what the caller sees.
def _agent(bed):
    bed.install_agent()


def _created(bed):
    _agent(bed)
    assert "vault" in bed.sls(bed.resource()).__repr__()


def _created_local(bed):
    _agent(bed)
    bed.sls(bed.resource(extra=LOCAL))


def _dump(bed, path):
    bed.allowed_files.add(str(path))
    return bed.fn("cib_dump", str(path))


CASES = {
    "resource create test=True": (_agent, lambda b: b.sls(b.resource(), test=True), "nowhere"),
    "resource create": (_agent, lambda b: b.sls(b.resource()), "cib"),
    "resource unchanged": (_created, lambda b: b.sls(b.resource()), "cib"),
    "resource rotated test=True": (_created, lambda b: b.sls(b.resource(CONN2, KEY2), test=True), "cib"),
    "resource rotated": (_created, lambda b: b.sls(b.resource(CONN2, KEY2)), "cib2"),
    "secret params dropped test=True": (
        _created,
        lambda b: b.sls(b.resource().replace(f", conn: {CONN}, api_key: {KEY}", "").replace("[conn]", "[]"), test=True),
        "cib",
    ),
    "secret params dropped": (
        _created,
        lambda b: b.sls(b.resource().replace(f", conn: {CONN}, api_key: {KEY}", "").replace("[conn]", "[]")),
        "gone",
    ),
    "secrets_in_cib false": (_agent, lambda b: b.sls(b.resource(extra=LOCAL)), "store"),
    "secrets_in_cib false rotated": (
        _created_local,
        lambda b: b.sls(b.resource(CONN2, KEY2, extra=LOCAL)),
        "store2",
    ),
    "agent not installed, check_agent false": (
        None,
        lambda b: b.sls(
            b.resource(extra="\n            - check_agent: false")
            .replace(b.provider, "nowhere")
            .replace("[conn]", "[conn, api_key]")
        ),
        "cib",
    ),
    "resource_absent test=True": (_created, lambda b: b.sls("vault:\n  pcmk.resource_absent", test=True), "cib"),
    "resource_absent": (_created, lambda b: b.sls("vault:\n  pcmk.resource_absent"), "gone"),
    "resource_absent, secrets_in_cib false": (
        _created_local,
        lambda b: b.sls("vault:\n  pcmk.resource_absent"),
        "gone",
    ),
    "refused: a malformed set of params": (
        _agent,
        lambda b: b.sls(
            b.resource().replace(
                f"{{state: {b.tmp}/vault.state, colour: blue, conn: {CONN}, api_key: {KEY}}}",
                f"[{{vals: {{conn: {CONN}, api_key: {KEY}}}}}]",
            )
        ),
        "nowhere",
    ),
    "pcmk.service_provider": (
        _agent,
        lambda b: b.sls(
            b.resource()
            .replace("vault:\n", "vaultsvc:\n")
            .replace("pcmk.resource:", "pcmk.service_provider:\n            - ha: true")
        ),
        "cib",
    ),
    "pcmk.resource_create": (
        _agent,
        lambda b: b.fn(
            "resource_create",
            "vault",
            f"ocf:{b.provider}:vault",
            params={"colour": "blue", "conn": CONN, "api_key": KEY},
            secret_params=["conn"],
        ),
        "cib",
    ),
    "pcmk.resource_update test=True": (
        _created,
        lambda b: b.fn(
            "resource_update", "vault", params={"conn": CONN2, "api_key": KEY2}, secret_params=["conn"], test=True
        ),
        "cib",
    ),
    "pcmk.resource_update": (
        _created,
        lambda b: b.fn("resource_update", "vault", params={"conn": CONN2, "api_key": KEY2}, secret_params=["conn"]),
        "cib2",
    ),
    "pcmk.resource_update dropping them": (
        _created,
        lambda b: b.fn("resource_update", "vault", params={"colour": "red"}),
        "gone",
    ),
    "pcmk.resource_delete test=True": (_created, lambda b: b.fn("resource_delete", "vault", test=True), "cib"),
    "pcmk.resource_delete": (_created, lambda b: b.fn("resource_delete", "vault", wait=False), "gone"),
    "pcmk.resource_get": (_created, lambda b: b.fn("resource_get", "vault", secret_params=["conn"]), "cib"),
    "pcmk.cib_dump": (_created, lambda b: b.fn("cib_dump", secret_params=["conn"]), "cib"),
    "pcmk.cib_dump path": (_created, lambda b: _dump(b, b.env.scratch / "dump.xml"), "cib"),
    "pcmk.export": (_created, lambda b: b.fn("export", secret_params=["conn"]), "cib"),
    "pcmk.export path and pillar": (
        _created,
        lambda b: b.fn(
            "export",
            path=str(b.env.scratch / "cluster.sls"),
            secret_params=["conn"],
            pillar_path=str(b.env.scratch / "secrets.sls"),
        ),
        "cib",
    ),
    "pcmk.ocf_agent with ocf_tester": (
        None,
        lambda b: b.install_agent(
            {"params": {"state": f"{b.tmp}/tester.state", "conn": CONN, "api_key": KEY}, "secret_params": ["conn"]}
        ),
        "nowhere",
    ),
    "pcmk.ocf_agent with ocf_tester failing": (
        None,
        lambda b: b.install_agent(
            {
                "params": {"state": f"{b.tmp}/tester.state", "conn": CONN, "api_key": KEY, "fail": "yes"},
                "secret_params": ["conn"],
            }
        ),
        "nowhere",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_secret_in_any_channel(bed, case):
    setup, action, where = CASES[case]
    if setup is not None:
        setup(bed)
    bed.start()
    ret = action(bed)
    assert bed.leaks(ret) == []
    assert bed.caplog.records, "the log was watched"
    assert bed.argvs or case.startswith("refused"), "child processes were watched"
    if where == "cib":
        assert bed.in_cib(CONN) and bed.in_cib(KEY)
    elif where == "cib2":
        assert bed.in_cib(CONN2) and bed.in_cib(KEY2) and not bed.in_cib(CONN)
    elif where in ("store", "store2"):
        value, key = (CONN, KEY) if where == "store" else (CONN2, KEY2)
        assert bed.in_store(value) and bed.in_store(key)
        assert not any(s in bed.env.cib_text() for s in SECRETS)
    elif where == "nowhere":
        assert not any(s in bed.env.cib_text() for s in SECRETS)
    elif where == "gone":
        assert not any(s in bed.env.cib_text() for s in SECRETS)
        assert not (bed.store / "vault").exists()


def test_ocf_tester_runs_the_agent_with_its_parameters_and_ps_never_shows_them(bed):
    """The tester's parameters reach the agent (it printed them), and ``ps`` taken while it ran shows none."""
    if shutil.which("ocf-tester") is None:
        pytest.skip("ocf-tester not installed (resource-agents)")
    bed.start()
    ret = bed.install_agent({"params": {"state": f"{bed.tmp}/tester.state", "conn": CONN, "api_key": KEY}})
    assert all(v["result"] for v in ret.values()), ret
    snapshot = (bed.tmp / "tester.state.ps").read_text()
    assert "ocf-tester" in snapshot  # taken while the tester ran
    assert not any(s in snapshot for s in SECRETS)
    assert bed.leaks(ret) == []


def test_a_failing_tester_names_the_failure_but_not_the_secret(bed):
    if shutil.which("ocf-tester") is None:
        pytest.skip("ocf-tester not installed (resource-agents)")
    params = {"state": f"{bed.tmp}/tester.state", "conn": CONN, "api_key": KEY, "fail": "yes"}
    ret = bed.install_agent({"params": params, "secret_params": ["conn"]})
    (state,) = ret.values()
    assert state["result"] is False and "ocf-tester failed" in state["comment"]
    assert "refused: ******** ********" in state["comment"]  # the agent's own words, the values masked
    assert not os.path.exists(os.path.join(bed.agent_dir, "vault"))


def test_cib_dump_file_is_0600_and_replaces_a_symlink(bed):
    _created(bed)
    target = bed.env.scratch / "elsewhere.xml"
    target.write_text("untouched")
    target.chmod(0o644)
    link = bed.env.scratch / "dump.xml"
    link.symlink_to(target)
    assert bed.fn("cib_dump", str(link)) == str(link)
    assert not link.is_symlink() and target.read_text() == "untouched"
    assert stat.S_IMODE(link.stat().st_mode) == 0o600 and CONN in link.read_text()
    plain = bed.env.scratch / "plain.xml"
    plain.write_text("old")
    plain.chmod(0o644)
    bed.fn("cib_dump", str(plain))
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600 and KEY in plain.read_text()


def test_resource_get_masks_what_it_knows_and_shows_the_rest(bed):
    _created(bed)
    got = bed.fn("resource_get", "vault")
    assert got["params.api_key"] == "********"  # private in the agent's meta-data: masked unasked
    assert got["params.colour"] == "blue"
    assert bed.fn("resource_get", "vault", secret_params=["conn"])["params.conn"] == "********"


def test_cib_dump_text_masks_the_secrets_and_keeps_the_rest(bed):
    _created(bed)
    text = bed.fn("cib_dump", secret_params=["conn"])
    assert 'name="conn" value="********"' in text and 'name="api_key" value="********"' in text
    assert 'name="colour" value="blue"' in text
    unasked = bed.fn("cib_dump")  # conn is secret only by its state's word, which the CIB does not keep
    assert 'name="api_key" value="********"' in unasked and f'name="conn" value="{CONN}"' in unasked


def test_the_tool_runner_masks_secret_argv_env_and_output(caplog):
    from saltext.pcmk.utils.errors import ToolError
    from saltext.pcmk.utils.tools import Secret, ToolRunner

    caplog.set_level(logging.DEBUG)
    runner = ToolRunner(env={"PATH": os.environ["PATH"]})
    script = 'echo "arg $1 env $HUSH" >&2; exit 3'
    with pytest.raises(ToolError) as raised:
        runner.run(["sh", "-c", script, "sh", Secret(CONN)], env={"HUSH": Secret(KEY)})
    shown = str(raised.value) + repr(raised.value.argv) + raised.value.stderr + caplog.text
    assert "arg ******** env ********" in str(raised.value)
    assert not any(s in shown for s in SECRETS)
    # What ran got the real values.
    ok = runner.run(["sh", "-c", 'echo "$1$HUSH"', "sh", Secret(CONN)], env={"HUSH": Secret(KEY)})
    assert ok.stdout.strip() == CONN + KEY
    assert not any(s in caplog.text for s in SECRETS)
