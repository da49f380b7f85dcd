"""Shared fixtures: offline CIB files, in-process Salt loaders, live clusters."""

import copy
import pathlib
import subprocess
import textwrap

import pytest
from saltfactories.utils.functional import Loaders

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
    path.write_text(empty_cib_text())
    return path


@pytest.fixture(scope="session")
def minion_config(salt_factories, tmp_path_factory):
    roots = tmp_path_factory.mktemp("file_roots")
    factory = salt_factories.salt_minion_daemon(
        "pcmk-functional",
        overrides={"file_client": "local", "file_roots": {"base": [str(roots)]}, "state_aggregate": False},
    )
    return factory.config.copy()


_EMPTY_CIB = None


def empty_cib_text():
    """``cibadmin --empty``'s output, asked of Pacemaker once per session."""
    global _EMPTY_CIB
    if _EMPTY_CIB is None:
        needs_pacemaker_tools()
        _EMPTY_CIB = subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True, check=True).stdout
    return _EMPTY_CIB


class QuickLoaders(Loaders):
    """saltfactories' Loaders without its ``saltutil.sync_all`` and second reload,
    and with grains computed once per session.

    The extension is installed (entry points) and ``module_dirs`` is read by the
    loader itself, so there is nothing to sync; syncing cost two of the three
    seconds a test's loaders took (one of them waiting for an event bus no test
    runs). Grains do not change between tests. Follows saltfactories 1.0's
    ``Loaders.__init__``.
    """

    _session_grains = None

    def __init__(self, opts):  # pylint: disable=super-init-not-called
        import salt.features  # pylint: disable=import-outside-toplevel
        from salt.loader.lazy import LOADED_BASE_NAME  # pylint: disable=import-outside-toplevel

        self.opts = opts
        self.loaded_base_name = LOADED_BASE_NAME
        self.context = {}
        self._cachedir = pathlib.Path(opts["cachedir"])
        self._original_opts = copy.deepcopy(opts)
        self._reset_state_funcs = [self.context.clear, self._cleanup_cache]
        self._reload_all_funcs = [self.reset_state]
        self._grains = self._modules = self._pillar = self._serializers = self._states = self._utils = None
        salt.features.setup_features(self.opts)
        self.reload_all()

    @property
    def grains(self):
        if self._grains is None:
            if QuickLoaders._session_grains is None:
                QuickLoaders._session_grains = Loaders.grains.fget(self)
            self._grains = QuickLoaders._session_grains
        return self._grains


@pytest.fixture
def salt_env(minion_config, cib_file, tmp_path):
    """In-process Salt loaders pointed at ``cib_file``, with an SLS writer."""
    roots = tmp_path / "srv"
    roots.mkdir()
    opts = dict(
        minion_config,
        **{"pcmk.cib_file": str(cib_file), "file_roots": {"base": [str(roots)]}, "cachedir": str(tmp_path / "cache")},
    )

    class SaltEnv:
        def __init__(self):
            self.opts, self.cib_file, self.roots = opts, cib_file, roots
            self.scratch = tmp_path / "scratch"  # for options that name a directory
            self.scratch.mkdir()
            self.loaders = QuickLoaders(opts)

        def configure(self, **overrides):
            """Rebuild the loaders with other minion options."""
            self.loaders.reset_state()
            self.opts = dict(self.opts, **overrides)
            self.loaders = QuickLoaders(self.opts)

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
