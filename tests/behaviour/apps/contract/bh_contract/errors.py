"""An exception class both sides can import, as ``shared_schema.errors`` is for the project."""


class SharedFailure(Exception):
    """Raised by the remote task; the caller can rebuild it because it imports this module."""
