"""The behaviour suite's "caller" code base: only the callbacks, not the remote tasks."""
