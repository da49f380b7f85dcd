"""The agents this package ships: only agent scripts count."""

from saltext.pcmk.utils import agents


def test_the_package_ships_the_openstack_service_agent():
    shipped = agents.shipped_agents()
    assert list(shipped) == ["openstack-service"]
    assert shipped["openstack-service"].read_text(encoding="utf-8").startswith("#!")


def test_shipped_agents_lists_only_agent_scripts(tmp_path, monkeypatch):
    (tmp_path / "good-agent").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# the agents\n", encoding="utf-8")
    (tmp_path / ".good-agent.swp").write_text("#!/bin/sh\n", encoding="utf-8")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "empty").write_bytes(b"")
    monkeypatch.setattr(agents, "SHIPPED_DIR", tmp_path)
    assert list(agents.shipped_agents()) == ["good-agent"]
