"""The wire every system shares: Celery and kombu glue, behind the ``celery`` extra.

``import shared_schema`` stays free of Celery; ``import shared_schema.wire`` needs the extra
(``crosslink-shared-schema[celery]``). What is here, and why, is in docs/adding-a-system.md.
"""

from shared_schema.outcomes import OutcomeUnknown
from shared_schema.wire.app import WireCelery
from shared_schema.wire.caller import failure_read, processing_send
from shared_schema.wire.queues import PeerQueue, WireAMQP, WireQueues, queue_from_spec
from shared_schema.wire.settings import common_settings
from shared_schema.wire.worker import Consumer, DeclareDeadLetter

__all__ = [
    "Consumer",
    "DeclareDeadLetter",
    "OutcomeUnknown",
    "PeerQueue",
    "WireAMQP",
    "WireCelery",
    "WireQueues",
    "common_settings",
    "failure_read",
    "processing_send",
    "queue_from_spec",
]
