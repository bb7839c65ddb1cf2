"""Writes the seed inputs of each fuzz target from the sample events in infra/events/.

Each seed is named `seed-<what it is>`; rerunning rewrites them and leaves the inputs the
fuzzer found (named by their hash) alone. `make fuzz` runs this first.
"""

import json
import pathlib
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "infra" / "events"
CORPUS = ROOT / "fuzz" / "corpus"


def write(target: str, name: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def sqs_bodies(path: pathlib.Path):
    event = json.loads(path.read_text())
    for number, record in enumerate(event.get("Records", [])):
        yield number, record["body"].encode()


def main() -> None:
    for detail in sorted((EVENTS / "detail").glob("*.json")):
        data = detail.read_bytes()
        write("order_event", f"detail-{detail.stem}", data)
        # The same bytes give the structured targets something shaped to start from.
        write("render_mime", f"detail-{detail.stem}", data)
    for payload in sorted(EVENTS.glob("*.json")):
        event = json.loads(payload.read_text())
        if "Records" in event:
            for number, body in sqs_bodies(payload):
                target = "ses_event" if payload.stem.startswith("ses-") else "order_event"
                write(target, f"sqs-{payload.stem}-{number}", body)
        if event.get("detail-type") == "IssueResolved":
            write("issue_resolved", payload.stem, payload.read_bytes())
            write("issue_resolved", f"{payload.stem}-detail", json.dumps(event["detail"]).encode())
        if event.get("version") == "2.0" and "requestContext" in event:
            write("feedback_request", payload.stem, payload.read_bytes())
            query = urllib.parse.parse_qs(event.get("rawQueryString", ""))
            body = urllib.parse.parse_qs(event.get("body") or "")
            for token in query.get("token", []) + body.get("token", []):
                write("link_token", f"{payload.stem}-token", token.encode())
    for ses in sorted((EVENTS / "ses").glob("*.json")):
        write("ses_event", f"eventbridge-{ses.stem}", ses.read_bytes())
    for target in ("link_token", "render_mime", "feedback_request"):
        write(target, "empty", b"")


if __name__ == "__main__":
    main()
