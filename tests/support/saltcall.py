"""``salt-call --local`` inside a namespaced cluster node, with its own config and trees.

Each NodeMinion has a private root (config, cache, file_roots, pillar_roots);
the repository's ``states/`` tree is on its file_roots too, so the project's
formula SLS can be included as operators would.
"""

import json
import pathlib
import sys
import textwrap

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
SALT_CALL = str(pathlib.Path(sys.executable).with_name("salt-call"))


class NodeMinion:
    def __init__(self, node, root, minion_id=None, **opts):
        self.node = node
        self.root = pathlib.Path(root)
        self.id = minion_id or node.name
        self.srv = self.root / "srv"
        self.pillar_dir = self.root / "pillar"
        for directory in (self.srv, self.pillar_dir, self.root / "conf"):
            directory.mkdir(parents=True, exist_ok=True)
        self.opts = {
            "id": self.id,
            "file_client": "local",
            "root_dir": str(self.root),
            "file_roots": {"base": [str(self.srv), str(REPO / "states")]},
            "pillar_roots": {"base": [str(self.pillar_dir)]},
            "log_file": str(self.root / "minion.log"),
            "log_level_logfile": "debug",
            **opts,
        }
        self.set_pillar({})
        self._write_config()

    def _write_config(self):
        (self.root / "conf" / "minion").write_text(yaml.safe_dump(self.opts))

    def configure(self, **opts):
        self.opts.update(opts)
        self._write_config()

    def set_pillar(self, data):
        (self.pillar_dir / "top.sls").write_text("base:\n  '*':\n    - data\n")
        (self.pillar_dir / "data.sls").write_text(yaml.safe_dump(data))

    def write_sls(self, name, text):
        path = self.srv / (name.replace(".", "/") + ".sls")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    def call(self, *args, timeout=300, check=True):
        """Run ``salt-call --local --out=json ARGS`` in the node; return ``local``'s value."""
        argv = [
            SALT_CALL,
            "-c",
            str(self.root / "conf"),
            "--local",
            "--out=json",
            "--log-level=quiet",
            "--retcode-passthrough",
            *args,
        ]
        proc = self.node.run(argv, timeout=timeout, check=False)
        try:
            value = json.loads(proc.stdout)["local"] if proc.stdout.strip() else None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise AssertionError(
                f"salt-call {args} printed no JSON (exit {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
            ) from exc
        if check and proc.returncode not in (0, 2) and not isinstance(value, dict):
            raise AssertionError(f"salt-call {args} failed (exit {proc.returncode}): {value} {proc.stderr[-2000:]}")
        return value

    def call_error(self, *args, timeout=300):
        """Run a call that must fail; return what salt-call said (its error names the culprit)."""
        argv = [SALT_CALL, "-c", str(self.root / "conf"), "--local", "--out=json", "--retcode-passthrough", *args]
        proc = self.node.run(argv, timeout=timeout, check=False)
        assert proc.returncode != 0, f"salt-call {args} succeeded: {proc.stdout[-2000:]}"
        return proc.stdout + proc.stderr

    def apply(self, sls, *, test=False, timeout=600):
        """``state.apply sls``; returns ``{state id: result dict}``."""
        args = ["state.apply", sls] + (["test=True"] if test else [])
        ret = self.call(*args, timeout=timeout, check=False)
        if not isinstance(ret, dict):
            raise AssertionError(f"state.apply {sls} did not run: {ret}")
        return {v["__id__"]: v for v in ret.values()}


def failures(results):
    return {k: v["comment"] for k, v in results.items() if v["result"] is False}


def changed(results):
    return {k for k, v in results.items() if v["changes"]}
