"""Checks that every sample order event in infra/events/detail/ is valid against
infra/order-event.schema.json, that the schema itself is valid, and that every SQS payload
`make events` writes (infra/events/<status>.json, infra/events/ses-<name>.json) matches the
readable event it is built from. Exits non-zero on any problem, naming the file and the field."""

import importlib.util
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
    stale = stale_payloads()
    for name in stale:
        print(f"infra/events/{name} is stale: run `make events`")
    return 1 if problems or stale or not samples else 0


def stale_payloads() -> list[str]:
    """The SQS payloads that differ from what `make events` would write now."""
    spec = importlib.util.spec_from_file_location("build_sqs_events", INFRA / "events" / "build_sqs_events.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    expected = {}
    for path in sorted((INFRA / "events" / "detail").glob("*.json")):
        expected[path.name] = builder.sqs_event(json.loads(path.read_text(encoding="utf-8")))
    for path in sorted((INFRA / "events" / "ses").glob("*.json")):
        envelope = json.loads(path.read_text(encoding="utf-8"))
        expected[f"ses-{path.stem}.json"] = builder.sqs_record(envelope, "ses-" + path.stem, "SesEventsQueue")
    stale = []
    for name, payload in expected.items():
        written = INFRA / "events" / name
        if not written.exists() or json.loads(written.read_text(encoding="utf-8")) != payload:
            stale.append(name)
    return stale


if __name__ == "__main__":
    sys.exit(main())
