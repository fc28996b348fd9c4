"""The behaviour suite's stand-in for ``shared_schema``: the only code both tiny apps import."""
