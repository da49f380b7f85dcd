"""Shared fixtures: offline CIB files, in-process Salt loaders, live clusters."""

import subprocess
import textwrap

import pytest

from tests.support.pcmktools import needs_pacemaker_tools

pytest_plugins = ["tests.support.fixtures"]


def pytest_configure(config):
    # Importing Salt installs a handler that keeps every log record until exit
    # and then writes them to a stderr pytest has closed ("Logging error").
    # Pytest captures logs itself; drop Salt's buffer before it holds anything.
    from salt._logging import impl  # pylint: disable=import-outside-toplevel

    impl.shutdown_temp_handler()


@pytest.fixture
def cib_file(tmp_path):
    """A fresh, empty offline CIB made by Pacemaker itself."""
    needs_pacemaker_tools()
    path = tmp_path / "cib.xml"
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True).stdout)
    return path


@pytest.fixture(scope="session")
def minion_config(salt_factories, tmp_path_factory):
    roots = tmp_path_factory.mktemp("file_roots")
    factory = salt_factories.salt_minion_daemon(
        "pcmk-functional",
        overrides={"file_client": "local", "file_roots": {"base": [str(roots)]}, "state_aggregate": False},
    )
    return factory.config.copy()


@pytest.fixture
def salt_env(minion_config, cib_file, tmp_path):
    """In-process Salt loaders pointed at ``cib_file``, with an SLS writer."""
    from saltfactories.utils.functional import Loaders  # pylint: disable=import-outside-toplevel

    roots = tmp_path / "srv"
    roots.mkdir()
    opts = dict(
        minion_config,
        **{"pcmk.cib_file": str(cib_file), "file_roots": {"base": [str(roots)]}, "cachedir": str(tmp_path / "cache")},
    )

    class SaltEnv:
        def __init__(self):
            self.opts, self.cib_file, self.roots = opts, cib_file, roots
            self.loaders = Loaders(opts)

        def configure(self, **overrides):
            """Rebuild the loaders with other minion options."""
            self.loaders.reset_state()
            self.opts = dict(self.opts, **overrides)
            self.loaders = Loaders(self.opts)

        def sls(self, text, *, name="t", test=False, **kwargs):
            (roots / f"{name}.sls").write_text(textwrap.dedent(text))
            ret = self.loaders.modules.state.sls(name, test=test, **kwargs)
            return StateResult(ret)

        def cib_text(self):
            return cib_file.read_text()

    env = SaltEnv()
    yield env
    env.loaders.reset_state()


class StateResult:
    """``state.sls``'s return, indexed by state id."""

    def __init__(self, raw):
        raw = getattr(raw, "raw", raw)  # saltfactories wraps state returns
        self.raw = raw
        if isinstance(raw, list):
            raise AssertionError(f"SLS did not render: {raw}")
        self.by_id = {v["__id__"]: v for v in raw.values()}

    def __getitem__(self, ident):
        return self.by_id[ident]

    @property
    def all_ok(self):
        return all(v["result"] is not False for v in self.by_id.values())

    @property
    def changed(self):
        return {k for k, v in self.by_id.items() if v["changes"]}

    def failures(self):
        return {k: v["comment"] for k, v in self.by_id.items() if v["result"] is False}
