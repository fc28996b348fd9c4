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
    except AssertionError as exc:  # a deadline passed: report it as what happened
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Result(scenario, expected, f"error: {first_line[:120]}", lab.describe(tag))
    return Result(scenario, expected, observation.outcome, observation.detail)
