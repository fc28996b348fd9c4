"""Each system runs in an environment where the other cannot be imported: the separation is
real, not a naming convention. Run each system's own interpreter from where it really runs."""

import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.processes import A_BIN, B_BIN, SYSTEM_A, run_json


def importable(python: Path, module: str, *, cwd: Path) -> bool:
    probe = f"import importlib.util as u, sys; sys.exit(0 if u.find_spec({module!r}) else 3)"
    result = subprocess.run(
        [str(python), "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode in (0, 3), result.stderr
    return result.returncode == 0


@pytest.fixture(scope="module")
def b_cwd() -> Path:
    """B's worker runs from a directory that holds none of the repository."""
    return Path(tempfile.gettempdir())


@pytest.mark.parametrize("module", ["django", "config", "files", "system_a", "psycopg"])
def test_system_a_and_django_cannot_be_imported_in_system_bs_environment(
    module: str, b_cwd: Path
) -> None:
    assert not importable(B_BIN / "python", module, cwd=b_cwd)


def test_system_b_cannot_be_imported_in_system_as_environment() -> None:
    assert not importable(A_BIN / "python", "system_b", cwd=SYSTEM_A)


@pytest.mark.parametrize("python", [A_BIN / "python", B_BIN / "python"], ids=["A", "B"])
def test_both_environments_have_the_shared_contract(python: Path, b_cwd: Path) -> None:
    assert importable(python, "shared_schema", cwd=b_cwd)


def contract_from(python: Path, cwd: Path) -> dict[str, object]:
    document: dict[str, object] = run_json([str(python), "-m", "shared_schema"], cwd=cwd)
    return document


def test_both_systems_see_the_same_contract(b_cwd: Path) -> None:
    assert contract_from(A_BIN / "python", SYSTEM_A) == contract_from(B_BIN / "python", b_cwd)
