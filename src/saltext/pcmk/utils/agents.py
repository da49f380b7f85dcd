"""OCF resource agent files: check a candidate, then put it in place atomically.

A candidate is written next to its final path under a hidden name, run with
``meta-data`` (which must be a resource-agent description, checked against
the OCF DTD when resource-agents ships it) and ``validate-all`` (which may
refuse its empty configuration but must not crash), and only then renamed
over the old agent. A refused candidate never replaces a working agent.

The agents this package ships are data, not Python: scripts in
``saltext/pcmk/agents/`` (:data:`SHIPPED_DIR`, installed as package data).
"""

import difflib
import os
import re
import shutil
import tempfile

from lxml import etree

from saltext.pcmk import PACKAGE_ROOT
from saltext.pcmk.utils.cib import diff as diffmod
from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.errors import AgentRefused, NotXml, SpecError, ToolError, ToolMissing
from saltext.pcmk.utils.tools import Secret, ToolRunner, mask

OCF_ROOT = "/usr/lib/ocf"
OCF_DTD = "/usr/share/resource-agents/ra-api-1.dtd"
SHIPPED_DIR = PACKAGE_ROOT / "agents"
REQUIRED_ACTIONS = {"start", "stop", "monitor", "meta-data"}
OCF_EXIT_CODES = range(8)  # 0..7 are the OCF answers; anything else is a crash
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_SHELLS = {"sh", "bash", "dash", "ksh"}
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # what an OCF_RESKEY_<name> variable can carry


def check_name(kind, value):
    if not isinstance(value, str) or not _NAME.match(value) or value in (".", ".."):
        raise SpecError(
            f"agent {kind} {value!r} is not a safe name (letters, digits, '_', '.', '+', '-'; no '/' or '..')"
        )
    return value


def _is_agent_script(path):
    """A visible regular file starting with ``#!``: not a README, an editor's backup or a cache."""
    if path.name.startswith(".") or not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(2) == b"#!"


def shipped_agents():
    """``{type: path}`` of the agent scripts this package ships (in ``SHIPPED_DIR``)."""
    return {p.name: p for p in sorted(SHIPPED_DIR.iterdir()) if _is_agent_script(p)} if SHIPPED_DIR.is_dir() else {}


def shipped_source(agent_type):
    agents = shipped_agents()
    if agent_type not in agents:
        raise SpecError(
            f"no source given and this package ships no agent called {agent_type!r} (it ships: {', '.join(agents) or 'none'})"
        )
    return agents[agent_type].read_text(encoding="utf-8")


def agent_path(provider, agent_type, ocf_root=OCF_ROOT):
    return os.path.join(ocf_root, "resource.d", check_name("provider", provider), check_name("type", agent_type))


def _ocf_env(ocf_root):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCF_RESKEY_")}
    env.update(OCF_ROOT=ocf_root, OCF_FUNCTIONS_DIR=os.path.join(ocf_root, "lib", "heartbeat"))
    return env


ANY_EXIT = range(-128, 256)  # an agent's exit code is its answer; callers judge it


def _run(argv, env, timeout=30, secrets=()):
    try:
        return ToolRunner(env=env).run(argv, timeout=timeout, ok_codes=ANY_EXIT, secrets=secrets)
    except ToolError as exc:  # its argv and message come masked
        raise AgentRefused(f"{' '.join(exc.argv)}: {exc}") from exc
    except OSError as exc:
        raise AgentRefused(f"cannot execute the agent: {exc}") from exc


def _syntax_check(path, content, name, env):
    first = content.splitlines()[0] if content else ""
    interpreter = os.path.basename(first[2:].split()[0]) if first.startswith("#!") and first[2:].split() else ""
    if interpreter == "env" and len(first.split()) > 1:
        interpreter = first.split()[1]
    if interpreter in _SHELLS and shutil.which(interpreter):
        proc = _run([interpreter, "-n", path], env)
        if proc.returncode != 0:
            raise AgentRefused(f"agent {name}: shell syntax error: {proc.stderr.strip() or proc.stdout.strip()}")
    elif interpreter.startswith("python") and shutil.which(interpreter):
        proc = _run([interpreter, "-m", "py_compile", path], env)
        if proc.returncode != 0:
            raise AgentRefused(f"agent {name}: python syntax error: {proc.stderr.strip()}")


def check_metadata_xml(text, name):
    """Parse and check meta-data output; returns the root element."""
    try:
        root = cibmod.parse(text)
    except NotXml as exc:
        raise AgentRefused(f"agent {name}: meta-data is not XML ({exc})") from exc
    if root.tag != "resource-agent":
        raise AgentRefused(f"agent {name}: meta-data root is <{root.tag}>, not <resource-agent>")
    # resource-agents ships the OCF 1.0 DTD only; OCF 1.1 meta-data (Pacemaker's
    # own agents) adds attributes it does not know, so it is checked by structure.
    if os.path.exists(OCF_DTD) and (root.findtext("version") or "1.0").strip() == "1.0":
        dtd = etree.DTD(OCF_DTD)
        if not dtd.validate(root):
            errors = "; ".join(str(e.message) for e in list(dtd.error_log)[:3])  # type: ignore[call-overload]  # lxml-stubs
            raise AgentRefused(f"agent {name}: meta-data does not follow the OCF resource agent DTD: {errors}")
    actions = {a.get("name") for a in root.iterfind("actions/action")}
    missing = sorted(REQUIRED_ACTIONS - actions)
    if missing:
        raise AgentRefused(f"agent {name}: meta-data lists no {', '.join(missing)} action")
    for param in root.iterfind("parameters/parameter"):
        if not param.get("name"):
            raise AgentRefused(f"agent {name}: a meta-data parameter has no name")
    return root


def inspect_file(path, name, *, ocf_root=OCF_ROOT):
    """Run the checks on an agent file; return its meta-data root."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        content = handle.read()
    env = _ocf_env(ocf_root)
    _syntax_check(path, content, name, env)
    meta = _run([path, "meta-data"], env)
    if meta.returncode != 0:
        raise AgentRefused(
            f"agent {name}: meta-data exited {meta.returncode}: {(meta.stderr or meta.stdout).strip()[:300]}"
        )
    root = check_metadata_xml(meta.stdout, name)
    validate = _run([path, "validate-all"], env)
    if validate.returncode not in OCF_EXIT_CODES:
        raise AgentRefused(
            f"agent {name}: validate-all crashed (exit {validate.returncode}): {(validate.stderr or validate.stdout).strip()[:300]}"
        )
    return root


def tester_secrets(root, params, secret_params=()):
    """Names of ``params`` that are secret: ``secret_params``, the parameters the agent's
    meta-data (``root``) marks private, and names that look secret (:func:`diff.looks_secret`)."""
    private = {p.get("name") for p in root.iterfind("parameters/parameter") if diffmod.truthy(p.get("private"))}
    return {name for name in params if name in set(secret_params) | private or diffmod.looks_secret(name)}


def run_ocf_tester(path, name, params, secret_params=(), *, root=None):
    """Run resource-agents' ocf-tester (it starts and stops the service here).

    The parameters reach the agent as ``OCF_RESKEY_<name>`` in ocf-tester's
    environment (it passes its own environment on to the agent), never as
    ``-o name=value`` arguments: any user of the host reads argv in ``ps``, and
    ocf-tester ``eval``s its ``-o`` values in a shell. Secret ones
    (:func:`tester_secrets`) are masked in the log and in the error.
    """
    if shutil.which("ocf-tester") is None:
        raise ToolMissing("ocf-tester is not installed (apt-get install resource-agents)")
    params = params or {}
    for key in params:
        if not isinstance(key, str) or not _PARAM_NAME.match(key):
            raise SpecError(f"agent {name}: ocf_tester parameter name {key!r} is not a valid OCF parameter name")
    secret = tester_secrets(root, params, secret_params) if root is not None else set(params)
    hidden = [str(params[k]) for k in secret if params[k] is not None and str(params[k])]
    env = _ocf_env(OCF_ROOT)
    for key, value in params.items():
        text = "" if value is None else str(value)
        env[f"OCF_RESKEY_{key}"] = Secret(text) if key in secret else text
    argv = ["ocf-tester", "-n", f"{name.replace(':', '-')}-test", path]
    proc = _run(argv, env, timeout=600, secrets=hidden)
    if proc.returncode != 0:
        output = mask((proc.stdout + proc.stderr).strip(), hidden)
        raise AgentRefused(f"agent {name}: ocf-tester failed: {output[-600:]}")
    return mask(proc.stdout, hidden)


def check_candidate(provider, agent_type, content, *, ocf_root=OCF_ROOT):
    """Run every check :func:`deploy` runs (but ocf-tester) on ``content`` in a
    private directory, installing nothing; return its meta-data text."""
    name = f"ocf:{provider}:{agent_type}"
    agent_path(provider, agent_type, ocf_root)  # the names are checked as deploy checks them
    with tempfile.TemporaryDirectory(prefix="saltext-pcmk-agent.") as directory:
        candidate = os.path.join(directory, agent_type)
        with open(candidate, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(candidate, 0o700)
        root = inspect_file(candidate, name, ocf_root=ocf_root)
    return etree.tostring(root, encoding="unicode")


def plan(provider, agent_type, content, *, ocf_root=OCF_ROOT):
    """What deploying ``content`` would change: None when identical, else a unified diff."""
    path = agent_path(provider, agent_type, ocf_root)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    mode_ok = current is not None and (os.stat(path).st_mode & 0o7777) == 0o755 and os.stat(path).st_uid == 0
    if current == content and mode_ok:
        return None
    if current == content:
        return f"mode/owner of {path} -> 0755 root:root"
    return (
        "".join(
            difflib.unified_diff(
                (current or "").splitlines(keepends=True),
                content.splitlines(keepends=True),
                fromfile=path if current is not None else "/dev/null",
                tofile=path,
            )
        )
        or f"new file {path}"
    )


def deploy(provider, agent_type, content, *, ocf_root=OCF_ROOT, ocf_tester_params=None, ocf_tester_secrets=()):
    """Check ``content`` as an agent and install it; the old agent stays on any failure.

    ``ocf_tester_params``: run ocf-tester with them (``ocf_tester_secrets``: names of
    secret ones, besides those the agent marks private and names that look secret).
    """
    name = f"ocf:{provider}:{agent_type}"
    path = agent_path(provider, agent_type, ocf_root)
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    # Same directory as the target: the rename is atomic and relative includes resolve alike.
    fd, candidate = tempfile.mkstemp(prefix=f".{agent_type}.", suffix=".new", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(candidate, 0o755)
        os.chown(candidate, 0, 0)
        root = inspect_file(candidate, name, ocf_root=ocf_root)
        if ocf_tester_params is not None:
            run_ocf_tester(candidate, name, ocf_tester_params, ocf_tester_secrets, root=root)
        os.replace(candidate, path)
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)
    return path


def list_installed(ocf_root=OCF_ROOT):
    """``ocf:<provider>:<type>`` of every agent installed under ``ocf_root``."""
    base = os.path.join(ocf_root, "resource.d")
    found = []
    for provider in sorted(os.listdir(base)) if os.path.isdir(base) else ():
        pdir = os.path.join(base, provider)
        for agent in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else ():
            path = os.path.join(pdir, agent)
            if not agent.startswith(".") and os.path.isfile(path) and os.access(path, os.X_OK):
                found.append(f"ocf:{provider}:{agent}")
    return found
