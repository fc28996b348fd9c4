"""Run scenarios against a lab and compare them with the expectations: the CLI and the
integration tests both go through ``scenario_check``."""

import uuid
from dataclasses import dataclass

from behaviour.expectations import expected_outcome
from behaviour.lab import Lab
from behaviour.scenarios import Scenario


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    expected: str
    observed: str
    detail: str

    @property
    def agrees(self) -> bool:
        return self.expected == self.observed


def scenario_check(lab: Lab, scenario: Scenario, celery_version: str) -> Result:
    tag = f"s{scenario.id}-{uuid.uuid4().hex[:8]}"
    expected = expected_outcome(scenario.id, celery_version)
    try:
        observation = scenario.run(lab, tag)
    # A deadline that passed, or an outcome a scenario did not foresee (another Celery version
    # may do anything): either is what happened, and the rest of the table still runs.
    except Exception as exc:  # noqa: BLE001
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        observed = f"error: {type(exc).__name__}: {first_line}"[:140]
        return Result(scenario, expected, observed, lab.describe(tag))
    return Result(scenario, expected, observation.outcome, observation.detail)
