"""Print the contract as JSON Schema: ``python -m shared_schema`` (or ``shared-schema``)."""

import argparse
import json
import sys

from pydantic import BaseModel

from shared_schema.errors import ERROR_HINTS
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.payloads import (
    SCHEMA_VERSION,
    ProcessingProgress,
    ProcessingRequest,
    ProcessingResult,
)

MODELS: dict[str, type[BaseModel]] = {
    "request": ProcessingRequest,
    "result": ProcessingResult,
    "progress": ProcessingProgress,
}


def contract() -> dict[str, object]:
    return {
        "schema_version": SCHEMA_VERSION,
        "task": PROCESS_TASK,
        "queues": {"system_a": QUEUE_SYSTEM_A, "system_b": QUEUE_SYSTEM_B},
        "error_codes": {code.value: hint for code, hint in ERROR_HINTS.items()},
        "schemas": {name: model.model_json_schema() for name, model in MODELS.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shared-schema", description=__doc__)
    parser.add_argument(
        "model", nargs="?", choices=sorted(MODELS), help="print only this model's JSON Schema"
    )
    args = parser.parse_args(argv)
    document = MODELS[args.model].model_json_schema() if args.model else contract()
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
