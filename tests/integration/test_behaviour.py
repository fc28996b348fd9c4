"""The behaviour suite (tests/behaviour) on the pinned Celery: one test per scenario.

The remote worker runs from System B's environment and the caller worker from System A's, each
with only its own tiny app on the path. ``make behaviour`` runs the same scenarios as a table.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from behaviour.lab import Lab, Pythons, celery_version
from behaviour.run import scenario_check
from behaviour.scenarios import SCENARIOS, Scenario
from harness.processes import A_BIN, B_BIN

pytestmark = pytest.mark.integration

PYTHONS = Pythons(remote=B_BIN / "python", caller=A_BIN / "python")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    work_dir: Path = tmp_path_factory.mktemp("behaviour")
    with Lab(pythons=PYTHONS, scenario_ids=[s.id for s in SCENARIOS], work_dir=work_dir) as lab:
        yield lab


@pytest.fixture(scope="module")
def pinned_version() -> str:
    return celery_version(PYTHONS.remote)


def scenario_name(scenario: Scenario) -> str:
    return f"{scenario.id}-" + re.sub(r"[^a-z0-9]+", "-", scenario.title.lower()).strip("-")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=scenario_name)
def test_celery_does_what_the_scenario_expects_on_the_pinned_version(
    lab: Lab, pinned_version: str, scenario: Scenario
) -> None:
    result = scenario_check(lab, scenario, pinned_version)

    assert result.agrees, (
        f"{scenario.id}. {scenario.title} on Celery {pinned_version}\n"
        f"  expected: {result.expected}\n  observed: {result.observed}\n{result.detail}"
    )


def test_no_numbered_scenario_is_missing_from_the_suite() -> None:
    numbers = {re.match(r"\d+", s.id).group() for s in SCENARIOS}  # type: ignore[union-attr]
    assert numbers == {str(n) for n in range(1, 16)}
