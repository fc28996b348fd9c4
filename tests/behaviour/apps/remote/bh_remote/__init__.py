"""The behaviour suite's "remote" code base: only the remote tasks, no callback of the caller."""
