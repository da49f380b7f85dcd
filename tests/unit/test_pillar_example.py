"""pillar.example is valid pillar: every service in it loads through the real schema."""

import pathlib

import pytest
import yaml

from saltext.pcmk.utils.errors import SpecError
from saltext.pcmk.utils.provider.pillar import ServicePillar

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "pillar.example"


def test_pillar_example_is_valid():
    pillar = yaml.safe_load(EXAMPLE.read_text())["pcmk"]
    services = ServicePillar(pillar, systemd=True)  # controllers run systemd
    for name in services.services:
        decl = services.declaration(name)
        if decl.ha:
            decl.specs()  # builds every resource and constraint spec, raising on any bad key
    assert set(services.ha_services()) >= {"cinder-volume", "haproxy", "mariadb"}


def test_without_systemd_underivable_agents_name_their_key(tmp_path):
    pillar = yaml.safe_load(EXAMPLE.read_text())["pcmk"]
    services = ServicePillar(pillar, systemd=False, init_dir=tmp_path)
    with pytest.raises(SpecError, match="pillar pcmk:services:haproxy:agent is missing"):
        services.declaration("haproxy")
    assert services.declaration("cinder-volume").agent == "ocf:saltext:openstack-service"


def test_pillar_example_documents_every_key():
    from saltext.pcmk.utils.provider import pillar as services

    text = EXAMPLE.read_text()
    for key in list(services._TOP_KEYS) + list(services._SERVICE_KEYS) + list(services._RESTART_KEYS):  # pylint: disable=protected-access
        assert f"{key}:" in text, key
