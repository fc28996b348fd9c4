"""The scenarios: each sends real messages between the two workers and says what happened.

A scenario returns an ``Observation`` whose ``outcome`` is a short, canonical sentence; the
runner compares it with the outcome expected on the installed Celery (expectations.py). Counts
are written ``xN``: "errback x2" means the errback task ran twice. "<failed id>" stands for the
remote task's own id wherever it appears in what a callback received.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from celery import chain, chord
from kombu import Exchange, Queue

from behaviour.lab import (
    QUIET_WINDOW_S,
    Lab,
    caller_queue,
    of_kind,
    remote_queue,
    started,
)

Events = list[dict[str, Any]]


@dataclass(frozen=True)
class Observation:
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    explain: str
    run: Callable[[Lab, str], Observation]


SCENARIOS: list[Scenario] = []


def scenario(id_: str, title: str) -> Callable[[Callable[[Lab, str], Observation]], Any]:
    def register(run: Callable[[Lab, str], Observation]) -> Callable[[Lab, str], Observation]:
        explain = " ".join((run.__doc__ or "").split())
        SCENARIOS.append(Scenario(id=id_, title=title, explain=explain, run=run))
        return run

    return register


# --- helpers ----------------------------------------------------------------------------------


def cb(lab: Lab, sid: str, name: str, tag: str, *, immutable: bool = False) -> Any:
    """A caller task's signature with the scenario's caller queue set on it."""
    return lab.sig(name, queue=caller_queue(sid), immutable=immutable, tag=tag)


def settle(lab: Lab, tag: str, sid: str, *, remote_too: bool = False, window: float = 0) -> Events:
    """Barrier through the scenario's queues, then watch a bounded window for late arrivals."""
    lab.barrier(tag, sid, remote_too=remote_too)
    lab.quiet(tag, "nothing more", lambda _: False, window=window or QUIET_WINDOW_S)
    return lab.events_of(tag)


def runs(events: Events, task: str, task_id: str | None = None) -> int:
    return len([e for e in started(events, task) if task_id is None or e["id"] == task_id])


def args_of(event: dict[str, Any], failed_id: str) -> str:
    return str(["<failed id>" if a == failed_id else a for a in event["args"]])


def observed(events: Events) -> dict[str, Any]:
    found = of_kind(events, "observed")
    return found[0] if found else {}


def relation(value: object, remote_id: str) -> str:
    if value is None:
        return "none"
    return "remote id" if value == remote_id else "other id"


def errback_fired(name: str) -> Callable[[Events], bool]:
    return lambda events: bool(started(events, name))


# --- 1. success link routing ------------------------------------------------------------------


@scenario("1a", "success link, queue set on the signature")
def link_with_queue(lab: Lab, tag: str) -> Observation:
    """The caller names its own queue on the link. The remote worker publishes the link when the
    task succeeds; it lands in the caller's queue and runs there with the result as argument."""
    rid = f"{tag}-remote"
    link = cb(lab, "1a", "caller.on_success", tag)
    lab.send("remote.add", 2, 3, scenario="1a", task_id=rid, link=link)
    lab.wait_events(tag, "the success link", errback_fired("caller.on_success"))
    events = settle(lab, tag, "1a")
    ran = started(events, "caller.on_success")
    return Observation(f"caller ran it x{len(ran)}, args={args_of(ran[0], rid)}")


@scenario("1b", "success link, no queue on the signature")
def link_without_queue(lab: Lab, tag: str) -> Observation:
    """Same link without a queue. The caller routes caller.* home (task_routes), but the link is
    published by the remote worker with the remote's routing: it lands in the remote's default
    queue, the remote worker does not know the task and drops it. The caller never hears."""
    rid, link_id = f"{tag}-remote", f"{tag}-link"
    link = lab.sig("caller.on_success", queue=None, tag=tag).set(task_id=link_id)
    lab.send("remote.add", 2, 3, scenario="1b", task_id=rid, link=link)
    lab.wait_events(
        tag,
        "the link to arrive somewhere",
        lambda ev: (
            bool(started(ev, "caller.on_success"))
            or any(e["id"] == link_id for e in of_kind(ev, "unknown"))
        ),
    )
    events = settle(lab, tag, "1b")
    dropped = [e for e in of_kind(events, "unknown") if e["id"] == link_id]
    where = f"remote dropped it as unregistered x{len(dropped)}" if dropped else "not on remote"
    return Observation(f"{where}; caller ran it x{runs(events, 'caller.on_success')}")


# --- 2, 3. what an errback receives -----------------------------------------------------------


def fail_with_errback(
    lab: Lab, tag: str, sid: str, errback: str, *, immutable: bool = False
) -> tuple[str, Events]:
    """remote.fail with the caller's ``errback`` as link_error, once the errback has run: the
    remote task's id and what the workers reported."""
    rid = f"{tag}-remote"
    signature = cb(lab, sid, errback, tag, immutable=immutable)
    lab.send("remote.fail", "boom", scenario=sid, task_id=rid, link_error=signature)
    lab.wait_events(tag, "the errback", errback_fired(errback))
    return rid, settle(lab, tag, sid)


@scenario("2a", "immutable .si() errback")
def errback_immutable(lab: Lab, tag: str) -> Observation:
    """An errback built with .si(): the remote worker cannot run it (not registered there), so it
    forwards it as a message. Immutable: it receives only its own arguments, nothing about the
    failure (self.request.parent_id still names the failed task, see 5)."""
    rid, events = fail_with_errback(lab, tag, "2a", "caller.on_error_immutable", immutable=True)
    ran = started(events, "caller.on_error_immutable")
    return Observation(f"caller ran it x{len(ran)}, args={args_of(ran[0], rid)}")


@scenario("2b", "mutable .s() errback")
def errback_mutable(lab: Lab, tag: str) -> Observation:
    """The same errback built with .s(): forwarded with the failed task's id as its first
    argument, from which it reads the exception in the result backend."""
    rid, events = fail_with_errback(lab, tag, "2b", "caller.on_error")
    ran = started(events, "caller.on_error")
    return Observation(
        f"caller ran it x{len(ran)}, args={args_of(ran[0], rid)}",
        detail=f"it read {observed(events).get('exc_type')} from the backend",
    )


@scenario("3", "errback written as (request, exc, traceback)")
def errback_in_process_style(lab: Lab, tag: str) -> Observation:
    """Celery's docs show errbacks taking (request, exc, traceback). Those arguments exist only
    when the errback runs inside the failing worker. Not registered there, it is forwarded like
    any other errback, with just the failed task's id, and fails on the caller."""
    _, events = fail_with_errback(lab, tag, "3", "caller.on_error_in_process_style")
    ran = runs(events, "caller.on_error_in_process_style")
    failed = of_kind(events, "failed", "caller.on_error_in_process_style")
    how = f"failed with {failed[0]['exc_type']}" if failed else "succeeded"
    return Observation(f"caller ran it x{ran}, {how}", detail=failed[0]["exc"] if failed else "")


# --- 4. the chain work-around -----------------------------------------------------------------


@scenario("4a", "chain work-around errback.si() | dummy.si()")
def chain_work_around(lab: Lab, tag: str) -> Observation:
    """The blog-post work-around: a chain as link_error. celery.chain is registered everywhere,
    so the remote worker calls the chain in-process with (request, exc, traceback); immutable
    members ignore them, and it publishes the errback. It fires, at the cost of an extra dummy
    task and of the failed task's id as argument."""
    rid = f"{tag}-remote"
    errback = cb(lab, "4a", "caller.on_error_immutable", tag, immutable=True) | cb(
        lab, "4a", "caller.dummy", tag, immutable=True
    )
    lab.send("remote.fail", "boom", scenario="4a", task_id=rid, link_error=errback)
    lab.wait_events(tag, "the dummy", errback_fired("caller.dummy"))
    events = settle(lab, tag, "4a")
    ran = started(events, "caller.on_error_immutable")
    return Observation(
        f"errback x{len(ran)}, args={args_of(ran[0], rid)}; dummy x{runs(events, 'caller.dummy')}",
        detail=f"errback parent_id: {relation(ran[0]['parent_id'], rid)}",
    )


@scenario("4b", "chain work-around with a mutable errback.s()")
def chain_work_around_mutable(lab: Lab, tag: str) -> Observation:
    """The same chain with .s(): the in-process call passes (request, exc, traceback) on to the
    first member, which must then be serialized as JSON. A Context object is not JSON: the
    publish fails inside the remote worker and the errback is lost; only the remote log says.
    Before 5.7 the error also escapes the failure handling, so task_failure is never sent."""
    rid = f"{tag}-remote"
    errback = cb(lab, "4b", "caller.on_error", tag) | cb(
        lab, "4b", "caller.dummy", tag, immutable=True
    )
    lab.send("remote.fail", "boom", scenario="4b", task_id=rid, link_error=errback)
    # Wait on the stored state, not on the failure signal: whether that signal is sent at all
    # differs between versions (the failure is stored before the errbacks are called).
    lab.wait_for(lambda: lab.app.AsyncResult(rid).ready(), "the remote task to end", tag)
    events = settle(lab, tag, "4b", remote_too=True)
    errbacks, dummies = runs(events, "caller.on_error"), runs(events, "caller.dummy")
    signals = len(of_kind(events, "failed", "remote.fail"))
    remote_said = [line for line in lab.remote_log() if "Errback" in line or "EncodeError" in line]
    return Observation(
        f"errback x{errbacks}, dummy x{dummies}; remote stored {lab.app.AsyncResult(rid).state}, "
        f"task_failure signal x{signals}",
        detail=remote_said[0][-200:] if remote_said else "",
    )


# --- 5, 6. the request inside callbacks; the stored result --------------------------------------


@scenario("5", "self.request inside the callback and the errback")
def request_ids(lab: Lab, tag: str) -> Observation:
    """What a callback can learn about the task it follows: parent_id and root_id, for a success
    link and for an immutable errback (which has no other way to know the failed task)."""
    ok_id, failed_id = f"{tag}-remote-ok", f"{tag}-remote-failed"
    lab.send(
        "remote.add", 1, 1, scenario="5", task_id=ok_id, link=cb(lab, "5", "caller.on_success", tag)
    )
    errback = cb(lab, "5", "caller.on_error_immutable", tag, immutable=True)
    lab.send("remote.fail", "boom", scenario="5", task_id=failed_id, link_error=errback)
    lab.wait_events(
        tag,
        "both callbacks",
        lambda ev: (
            bool(started(ev, "caller.on_success"))
            and bool(started(ev, "caller.on_error_immutable"))
        ),
    )
    events = settle(lab, tag, "5")
    link = started(events, "caller.on_success")[0]
    errback_run = started(events, "caller.on_error_immutable")[0]
    return Observation(
        f"link: parent={relation(link['parent_id'], ok_id)}, root="
        f"{relation(link['root_id'], ok_id)}; errback: parent="
        f"{relation(errback_run['parent_id'], failed_id)}, root="
        f"{relation(errback_run['root_id'], failed_id)}"
    )


@scenario("6", "remote result readable from the backend inside the success link")
def result_in_backend(lab: Lab, tag: str) -> Observation:
    """The success link reads the remote task's state from the result backend as soon as it
    runs. Celery publishes links before it stores the result (app/trace.py), so the backend may
    not have it yet; the remote app here stores this task's result 3 s late to show it every
    time. The callback's argument always carries the result."""
    rid = f"{tag}-remote"
    link = cb(lab, "6", "caller.on_success_reads_backend", tag)
    lab.send("remote.add_store_late", 2, 3, scenario="6", task_id=rid, link=link)
    events = lab.wait_events(tag, "the link's report", lambda ev: bool(of_kind(ev, "observed")))
    seen = observed(events)
    lab.wait_events(tag, "the remote task to finish", lambda ev: bool(of_kind(ev, "succeeded")))
    return Observation(
        f"backend said {seen['backend_state']}; argument={seen['argument']}",
        detail=f"after the store: {lab.app.AsyncResult(rid).state}",
    )


# --- 7, 8. retries and time limits ------------------------------------------------------------


def outcome_counts(events: Events, task: str, rid: str) -> str:
    return (
        f"ran x{runs(events, task, rid)}, link x{runs(events, 'caller.on_success')}, "
        f"errback x{runs(events, 'caller.on_error')}"
    )


def link_or_errback(events: Events) -> bool:
    return bool(started(events, "caller.on_success") or started(events, "caller.on_error"))


@scenario("7a", "autoretry_for + retry_backoff, succeeds on the 3rd run")
def retries_then_success(lab: Lab, tag: str) -> Observation:
    """A task that fails twice with a retryable error, backing off 1 s then 2 s. Retries are new
    messages carrying the same links; the link fires once, after the final outcome."""
    rid = f"{tag}-remote"
    lab.send(
        "remote.flaky",
        2,
        scenario="7a",
        task_id=rid,
        link=cb(lab, "7a", "caller.on_success", tag),
        link_error=cb(lab, "7a", "caller.on_error", tag),
    )
    lab.wait_events(tag, "the final outcome", link_or_errback)
    return Observation(outcome_counts(settle(lab, tag, "7a"), "remote.flaky", rid))


@scenario("7b", "autoretry_for + retry_backoff, retries exhausted")
def retries_exhausted(lab: Lab, tag: str) -> Observation:
    """The same task failing every time with max_retries=2: three runs, then one errback."""
    rid = f"{tag}-remote"
    lab.send(
        "remote.flaky",
        9,
        scenario="7b",
        task_id=rid,
        link=cb(lab, "7b", "caller.on_success", tag),
        link_error=cb(lab, "7b", "caller.on_error", tag),
    )
    lab.wait_events(tag, "the final outcome", link_or_errback)
    return Observation(outcome_counts(settle(lab, tag, "7b"), "remote.flaky", rid))


HARD_LIMIT_WINDOW_S = 4.0
"""After a hard time limit the pool replaces the killed process and may report the loss a
second time; watch long enough for that report (the limit is 1 s)."""


def errback_report(events: Events) -> str:
    seen = observed(events)
    return f"errback x{runs(events, 'caller.on_error')}, caller reads {seen.get('exc_type')}"


@scenario("8a", "soft time limit (1 s)")
def soft_time_limit(lab: Lab, tag: str) -> Observation:
    """SoftTimeLimitExceeded is raised inside the task, which fails like any exception."""
    errback = cb(lab, "8a", "caller.on_error", tag)
    lab.send("remote.past_soft_limit", 10, scenario="8a", task_id=f"{tag}-r", link_error=errback)
    lab.wait_events(tag, "the errback", errback_fired("caller.on_error"))
    return Observation(errback_report(settle(lab, tag, "8a", window=HARD_LIMIT_WINDOW_S)))


@scenario("8b", "hard time limit (1 s)")
def hard_time_limit(lab: Lab, tag: str) -> Observation:
    """The pool kills the process running the task. The worker's main process marks it failed
    and calls the errbacks; the errback must be idempotent whatever the count."""
    errback = cb(lab, "8b", "caller.on_error", tag)
    lab.send("remote.past_hard_limit", 10, scenario="8b", task_id=f"{tag}-r", link_error=errback)
    lab.wait_events(tag, "the errback", errback_fired("caller.on_error"))
    return Observation(errback_report(settle(lab, tag, "8b", window=HARD_LIMIT_WINDOW_S)))


# --- 9. the remote worker killed mid-task -----------------------------------------------------


def hold_and_kill(lab: Lab, tag: str, sid: str, task: str, *, whole_worker: bool) -> Events:
    rid = f"{tag}-remote"
    lab.send(
        task,
        30,
        scenario=sid,
        task_id=rid,
        link=cb(lab, sid, "caller.on_success", tag),
        link_error=cb(lab, sid, "caller.on_error", tag),
    )
    events = lab.wait_events(tag, f"{task} to start", lambda ev: runs(ev, task, rid) > 0)
    if whole_worker:
        lab.restart_remote()
    else:
        lab.kill_pool_child(started(events, task)[0]["pid"])
    return events


@scenario("9a", "pool process killed, early ack (default)")
def child_killed_early_ack(lab: Lab, tag: str) -> Observation:
    """SIGKILL the pool process running the task. The worker's main process sees the loss,
    marks the task failed with WorkerLostError and forwards the errback."""
    hold_and_kill(lab, tag, "9a", "remote.hold", whole_worker=False)
    lab.wait_events(tag, "the outcome", link_or_errback)
    events = settle(lab, tag, "9a")
    return Observation(
        f"{outcome_counts(events, 'remote.hold', f'{tag}-remote')}; "
        f"caller reads {observed(events).get('exc_type')}"
    )


@scenario("9b", "pool process killed, acks_late + reject_on_worker_lost")
def child_killed_late_ack(lab: Lab, tag: str) -> Observation:
    """The same kill with acks_late and reject_on_worker_lost: the message is requeued and runs
    again (this task finishes quickly once redelivered); no errback for the lost run. A task
    that kills its process every time would loop forever: bound it (delivery limit)."""
    hold_and_kill(lab, tag, "9b", "remote.hold_late", whole_worker=False)
    lab.wait_events(tag, "the outcome", link_or_errback)
    return Observation(outcome_counts(settle(lab, tag, "9b"), "remote.hold_late", f"{tag}-remote"))


@scenario("9c", "whole remote worker killed, early ack")
def worker_killed_early_ack(lab: Lab, tag: str) -> Observation:
    """SIGKILL the remote worker and all its processes, then start a new one. The message was
    acknowledged when the task started: nothing runs it again, no link, no errback, ever. Only
    a sweeper on the caller's side can notice."""
    hold_and_kill(lab, tag, "9c", "remote.hold", whole_worker=True)
    events = settle(lab, tag, "9c", remote_too=True)
    state = lab.app.AsyncResult(f"{tag}-remote").state
    return Observation(f"{outcome_counts(events, 'remote.hold', f'{tag}-remote')}; state {state}")


@scenario("9d", "whole remote worker killed, acks_late")
def worker_killed_late_ack(lab: Lab, tag: str) -> Observation:
    """The same with acks_late: the unacknowledged message returns to the queue when the
    connection drops, and the new worker runs it."""
    hold_and_kill(lab, tag, "9d", "remote.hold_late", whole_worker=True)
    lab.wait_events(tag, "the outcome", link_or_errback)
    events = settle(lab, tag, "9d")
    return Observation(outcome_counts(events, "remote.hold_late", f"{tag}-remote"))


# --- 10, 11, 12. unknown task, bad arguments, exception classes --------------------------------


@scenario("10", "task name unknown to the remote worker")
def unknown_task(lab: Lab, tag: str) -> Observation:
    """send_task with a name the remote worker does not have. It logs 'Received unregistered
    task', stores a NotRegistered failure, and drops the message, without calling the errback."""
    rid = f"{tag}-remote"
    errback = cb(lab, "10", "caller.on_error", tag)
    lab.send("remote.no_such_task", scenario="10", task_id=rid, link_error=errback)
    lab.wait_events(tag, "the remote worker to reject it", lambda ev: bool(of_kind(ev, "unknown")))
    events = settle(lab, tag, "10")
    result = lab.app.AsyncResult(rid)
    stored = f"{result.state} {type(result.result).__name__}" if result.failed() else result.state
    return Observation(f"errback x{runs(events, 'caller.on_error')}; backend has {stored}")


@scenario("11", "malformed arguments")
def malformed_arguments(lab: Lab, tag: str) -> Observation:
    """remote.add(x, y) sent with one argument. The call fails inside the task as a TypeError,
    an ordinary failure: the errback fires."""
    errback = cb(lab, "11", "caller.on_error", tag)
    lab.send("remote.add", 1, scenario="11", task_id=f"{tag}-remote", link_error=errback)
    lab.wait_events(tag, "the errback", errback_fired("caller.on_error"))
    return Observation(errback_report(settle(lab, tag, "11")))


def rebuilt_exception(lab: Lab, tag: str, sid: str, task: str) -> Observation:
    errback = cb(lab, sid, "caller.on_error", tag)
    lab.send(task, "boom", scenario=sid, task_id=f"{tag}-remote", link_error=errback)
    events = lab.wait_events(tag, "the errback's report", lambda ev: bool(of_kind(ev, "observed")))
    seen = observed(events)
    contract = "yes" if seen["is_contract_class"] else "no"
    return Observation(
        f"caller gets {seen['exc_module']}.{seen['exc_type']} (contract class: {contract})",
        detail=f"message: {seen['exc']}",
    )


@scenario("12a", "exception class from the shared contract")
def shared_exception(lab: Lab, tag: str) -> Observation:
    """The remote task raises a class from the shared contract module, which the caller also
    imports: the backend stores module and name, and the caller rebuilds the same class."""
    return rebuilt_exception(lab, tag, "12a", "remote.fail")


@scenario("12b", "exception class defined only on the remote side")
def remote_only_exception(lab: Lab, tag: str) -> Observation:
    """The remote task raises a class of its own module, which the caller cannot import: Celery
    makes up a class of that name (exception_to_python), unrelated to any class the caller has."""
    return rebuilt_exception(lab, tag, "12b", "remote.fail_private")


# --- 13. canvas ------------------------------------------------------------------------------


@scenario("13a", "chain remote.fail | caller.step, with an errback")
def chain_with_errback(lab: Lab, tag: str) -> Observation:
    """A chain whose first member is the remote task. link_error on a chain is set on every
    member; the remote member fails, the errback fires once and the next step never runs."""
    rid = f"{tag}-remote"
    canvas = chain(
        lab.sig("remote.fail", "boom", queue=remote_queue("13a"), immutable=True).set(task_id=rid),
        cb(lab, "13a", "caller.step", tag),
    )
    canvas.on_error(cb(lab, "13a", "caller.on_error", tag))
    canvas.apply_async()
    lab.wait_events(tag, "the errback", errback_fired("caller.on_error"))
    events = settle(lab, tag, "13a")
    ran = started(events, "caller.on_error")
    return Observation(
        f"errback x{len(ran)}, args={args_of(ran[0], rid)}; next step x"
        f"{runs(events, 'caller.step')}"
    )


@scenario("13b", "chord [remote.add, remote.fail] -> caller body, with an errback")
def chord_with_errback(lab: Lab, tag: str) -> Observation:
    """A chord whose header runs on the remote worker and whose body runs on the caller. When a
    header task fails, the remote worker fails the chord and calls the body's errbacks (by
    default only the body's: task_allow_error_cb_on_chord_header is off), with the body's id.
    The ChordError is stored under that id just after the errback is published, so an errback
    that reads it at once may find nothing yet."""
    header = [
        lab.sig("remote.add", 1, 1, queue=remote_queue("13b")).set(task_id=f"{tag}-h1"),
        lab.sig("remote.fail", "boom", queue=remote_queue("13b")).set(task_id=f"{tag}-h2"),
    ]
    body = cb(lab, "13b", "caller.chord_body", tag).set(task_id=f"{tag}-body")
    body.on_error(cb(lab, "13b", "caller.on_error", tag))
    chord(header, app=lab.app)(body)
    lab.wait_events(tag, "the errback", errback_fired("caller.on_error"))
    events = settle(lab, tag, "13b", remote_too=True)
    ran = started(events, "caller.on_error")
    received = ["<body id>" if a == f"{tag}-body" else a for a in ran[0]["args"]]
    received = ["<failed id>" if a == f"{tag}-h2" else a for a in received]
    return Observation(
        f"errback x{len(ran)}, args={received}; body x{runs(events, 'caller.chord_body')}",
        # Racy: the remote worker stores the ChordError just after it publishes the errback.
        detail=f"the errback read {observed(events).get('exc_type')} for the body id",
    )


# --- 14. callbacks to a queue the remote worker does not know ------------------------------


def stored_outcome(lab: Lab, rid: str) -> str:
    result = lab.app.AsyncResult(rid)
    lab.wait_for(result.ready, "the remote task's stored outcome", rid)
    if result.failed():
        return f"{result.state} {type(result.result).__name__}"
    return f"{result.state} {result.result!r}"


@scenario("14a", "success link to a caller's quorum queue unknown to the remote worker")
def link_to_unknown_quorum_queue(lab: Lab, tag: str) -> Observation:
    """The caller owns its queue as a quorum queue on a topic exchange named like it (as
    crosslink's systems declare theirs). The remote worker does not know it, so Celery's
    Queues.new_missing declares it on the spot as a classic queue on a *direct* exchange:
    PRECONDITION_FAILED. The failed publish escapes the trace and is stored as the task's
    result ('Exception raised outside body'), replacing its real SUCCESS."""
    queue = f"{caller_queue('14a')}-quorum"
    with lab.app.connection_for_write() as connection:
        Queue(
            queue,
            Exchange(queue, "topic", durable=True),
            routing_key=queue,
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        )(connection.default_channel).declare()
    rid = f"{tag}-remote"
    link = lab.sig("caller.on_success", queue=queue, tag=tag)
    lab.send("remote.add", 2, 3, scenario="14a", task_id=rid, link=link)
    stored = stored_outcome(lab, rid)
    refused = [line for line in lab.remote_log() if "PRECONDITION_FAILED" in line and queue in line]
    events = settle(lab, tag, "14a")
    declare = "PRECONDITION_FAILED" if refused else "no error logged"
    return Observation(
        f"remote's declare: {declare}; link x{runs(events, 'caller.on_success')}; "
        f"backend has {stored}",
        detail=refused[0] if refused else "",
    )


@scenario("14b", "errback to a queue nobody declared")
def errback_to_missing_queue(lab: Lab, tag: str) -> Observation:
    """An errback routed to a queue that does not exist. The remote worker (with a user allowed
    to) creates it, as a classic queue on a direct exchange, and parks the errback there, where
    no caller listens; the stored failure is the task's own. Under least privilege the declare
    is ACCESS_REFUSED instead, and the refusal replaces the stored failure as in 14a."""
    queue = f"{caller_queue('14b')}-{tag}"
    rid = f"{tag}-remote"
    errback = lab.sig("caller.on_error", queue=queue, tag=tag)
    lab.send("remote.fail", "boom", scenario="14b", task_id=rid, link_error=errback)
    stored = stored_outcome(lab, rid)

    def waiting() -> int:
        with lab.app.connection_for_write() as connection:
            try:
                return int(connection.default_channel.queue_declare(queue, passive=True)[1])
            except Exception:  # noqa: BLE001 - not there (yet): the channel is closed with it
                return 0

    lab.wait_for(waiting, f"the errback to be parked in {queue}", tag)
    return Observation(
        f"remote created the queue; errback waiting there x{waiting()}; backend has {stored}"
    )


# --- 15. remote control across systems ------------------------------------------------------


@scenario("15", "remote control from the caller's app to the remote worker")
def remote_control_across_systems(lab: Lab, tag: str) -> Observation:
    """Every worker on a vhost listens on the same control exchange (celery.pidbox) unless
    control_exchange says otherwise, so the caller's app inspects and rate-limits the remote
    worker as if it were its own (and could shut it down the same way)."""
    pings = lab.app.control.inspect(timeout=2).ping() or {}
    limits = lab.app.control.rate_limit("remote.add", "1000/s", reply=True, timeout=2) or []
    accepted = [node for reply in limits for node, answer in reply.items() if "ok" in answer]

    def answered(nodes: Iterable[str]) -> str:
        return "yes" if any(node.startswith("remote-") for node in nodes) else "no"

    return Observation(
        f"remote answers the caller's ping: {answered(pings)}; "
        f"applies the caller's rate_limit: {answered(accepted)}",
        detail=f"ping: {sorted(pings)}",
    )
