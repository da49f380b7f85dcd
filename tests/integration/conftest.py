"""Fixtures for the integration tests that need more than tests/support/fixtures.py gives."""

from tests.support.saltbed import salt_cluster  # noqa: F401  (session fixture: Salt master + minions on the 3-node cluster)
