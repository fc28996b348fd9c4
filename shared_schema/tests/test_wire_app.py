"""What a WireCelery app changes in how a system sends: no result subscription, and a success
callback whose message names B's result instead of repeating it."""

from typing import Any, cast

from celery import Celery, signature

from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A
from shared_schema.payloads import ProcessingRequest
from shared_schema.queues import SYSTEM_A_QUEUE
from shared_schema.wire import WireCelery, common_settings, processing_send
from shared_schema.wire.caller import RESULT_ARGSREPR


def test_sending_a_task_does_not_subscribe_to_its_result() -> None:
    app = WireCelery("a-under-test", set_as_current=False)
    # Nothing listens on port 1: subscribing would have to connect, and fail.
    app.conf.update(common_settings(queue=SYSTEM_A_QUEUE), result_backend="redis://127.0.0.1:1/0")

    backend: Any = app.backend  # the Redis backend, whose result consumer the stubs omit
    backend.on_task_call(None, "task-1")

    assert backend.result_consumer.subscribed_to == set()


class _Sent:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, **options: Any) -> None:
        self.calls.append((name, options))


def test_the_success_callback_names_bs_result_in_its_message_instead_of_repeating_it() -> None:
    sent = _Sent()

    processing_send(
        cast(Celery, sent),
        request=ProcessingRequest(file_id="1", storage_key="uploads/a.csv", original_name="a.csv"),
        task_id="task-1",
        reply_queue=QUEUE_SYSTEM_A,
        link=signature("caller.succeeded", kwargs={"file_id": 1}),
        link_error=signature("caller.failed", kwargs={"file_id": 1}),
    )

    [(name, options)] = sent.calls
    assert name == PROCESS_TASK
    assert options["link"].options == {"queue": QUEUE_SYSTEM_A, "argsrepr": RESULT_ARGSREPR}
    assert options["link_error"].options == {"queue": QUEUE_SYSTEM_A}
