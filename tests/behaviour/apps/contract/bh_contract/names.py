"""Queue names each side's app is configured with. Scenarios add their own queues per message."""

from typing import Final

REMOTE_DEFAULT_QUEUE: Final = "behaviour.remote.default"
"""Where the remote app routes anything without an explicit queue, callbacks included."""

CALLER_DEFAULT_QUEUE: Final = "behaviour.caller.default"
