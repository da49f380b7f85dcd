"""What the loader modules share: one way execution modules turn PcmkError into Salt's error."""

import pytest

from saltext.pcmk.utils import saltglue
from saltext.pcmk.utils.errors import NotFound


def test_errors_as_raises_the_salt_exception_with_the_culprits_message():
    class CommandExecutionError(Exception):
        pass

    @saltglue.errors_as(CommandExecutionError)
    def status(resource):
        raise NotFound(f"resource {resource!r} does not exist")

    with pytest.raises(CommandExecutionError, match="resource 'web' does not exist"):
        status("web")
