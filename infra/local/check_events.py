"""Checks that every sample order event in infra/events/detail/ is valid against
infra/order-event.schema.json, and that the schema itself is valid. Exits non-zero on any
problem, naming the file and the field."""

import json
import pathlib
import sys

import jsonschema

INFRA = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    schema = json.loads((INFRA / "order-event.schema.json").read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    problems = 0
    samples = sorted((INFRA / "events" / "detail").glob("*.json"))
    for path in samples:
        event = json.loads(path.read_text(encoding="utf-8"))
        for error in validator.iter_errors(event):
            field = ".".join(str(p) for p in error.absolute_path) or "(root)"
            print(f"{path.name}: {field}: {error.message}")
            problems += 1
    print(f"checked {len(samples)} sample events against the schema: {problems} problems")
    return 1 if problems or not samples else 0


if __name__ == "__main__":
    sys.exit(main())
