"""System C: a minimal third caller of System B, built from docs/adding-a-system.md.

It sends files to B's ``remote.processing`` and hears back on its own queue, using only
``shared_schema`` and its wire layer. What its callbacks receive is written as one JSON file
per reference into ``CROSSLINK_SYSTEM_C_INBOX``, for the test to read.
"""
