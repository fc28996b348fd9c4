"""What each scenario is expected to show, by Celery version.

Keyed by scenario, then by the lowest Celery version an outcome applies from: the entry with
the highest version not above the installed one wins. Versions are split only where Celery
really behaves differently; docs/callbacks.md explains the outcomes for the pinned version.
"""

EXPECTED: dict[str, dict[str, str]] = {
    # 1. Links are published by the remote worker with the remote's routing.
    "1a": {"5.0": "caller ran it x1, args=[5]"},
    "1b": {"5.0": "remote dropped it as unregistered x1; caller ran it x0"},
    # 2, 3. Errbacks unknown to the failing worker are forwarded with (failed task id,).
    "2a": {"5.0": "caller ran it x1, args=[]"},
    "2b": {"5.0": "caller ran it x1, args=['<failed id>']"},
    "3": {"5.0": "caller ran it x1, failed with TypeError"},
    # 4. celery.chain is registered everywhere, so the chain is called in-process.
    "4a": {"5.0": "errback x1, args=[]; dummy x1"},
    "4b": {
        "5.0": "errback x0, dummy x0; remote stored FAILURE, task_failure signal x0",
        # 5.7 logs "Errback ... raised an exception" and goes on with the failure handling.
        "5.7": "errback x0, dummy x0; remote stored FAILURE, task_failure signal x1",
    },
    "5": {
        "5.0": "link: parent=remote id, root=remote id; errback: parent=remote id, root=remote id"
    },
    "6": {"5.0": "backend said PENDING; argument=5"},
    "7a": {"5.0": "ran x3, link x1, errback x0"},
    "7b": {"5.0": "ran x3, link x0, errback x1"},
    "8a": {"5.0": "errback x1, caller reads SoftTimeLimitExceeded"},
    "8b": {"5.0": "errback x2, caller reads TimeLimitExceeded"},
    "9a": {"5.0": "ran x1, link x0, errback x1; caller reads WorkerLostError"},
    "9b": {"5.0": "ran x2, link x1, errback x0"},
    "9c": {"5.0": "ran x1, link x0, errback x0; state PENDING"},
    "9d": {"5.0": "ran x2, link x1, errback x0"},
    "10": {"5.0": "errback x0; backend has FAILURE NotRegistered"},
    "11": {"5.0": "errback x1, caller reads TypeError"},
    "12a": {"5.0": "caller gets bh_contract.errors.SharedFailure (contract class: yes)"},
    "12b": {"5.0": "caller gets celery.exceptions.RemoteOnlyError (contract class: no)"},
    "13a": {"5.0": "errback x1, args=['<failed id>']; next step x0"},
    "13b": {"5.0": "errback x1, args=['<body id>']; body x0"},
    # 14. A callback to a queue the remote worker does not know: declared on the spot as a
    # classic queue on a direct exchange; a refused publish replaces the task's stored outcome.
    "14a": {
        "5.0": "remote's declare: PRECONDITION_FAILED; link x0; backend has FAILURE "
        "PreconditionFailed"
    },
    "14b": {
        "5.0": "remote created the queue; errback waiting there x1; backend has FAILURE "
        "SharedFailure"
    },
    # 15. One control exchange (celery.pidbox) for every worker on the vhost, by default.
    "15": {"5.0": "remote answers the caller's ping: yes; applies the caller's rate_limit: yes"},
}


def version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if digits != part:
            break
    return tuple(parts)


def expected_outcome(scenario_id: str, celery_version: str) -> str:
    by_version = EXPECTED.get(scenario_id, {})
    installed = version_tuple(celery_version)
    applicable = [v for v in by_version if version_tuple(v) <= installed]
    if not applicable:
        return "(no expectation)"
    return by_version[max(applicable, key=version_tuple)]
