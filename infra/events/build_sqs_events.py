"""Writes the SQS-fed Lambda payloads for `make invoke`, `cargo lambda invoke --data-file` and
`sam local invoke -e` from readable events:

- infra/events/<status>.json from the order events' details in infra/events/detail/;
- infra/events/ses-<name>.json from the SES events in infra/events/ses/, as SES publishes them
  to EventBridge.

Each payload is an SQS event of one record whose body is the EventBridge event the rule
forwards to the queue. Run `make events` after editing a readable file; the tests fail when the
two disagree.
"""

import hashlib
import json
import pathlib

HERE = pathlib.Path(__file__).parent


def sqs_event(detail: dict) -> dict:
    return sqs_record(order_envelope(detail), detail["status"], "OrderEventsQueue")


def order_envelope(detail: dict) -> dict:
    return {
        "version": "0",
        "id": str(hashlib.sha256(detail["event_id"].encode()).hexdigest()[:32]),
        "detail-type": "Order Status Changed",
        "source": "shop.orders",
        "account": "123456789012",
        "time": detail["occurred_at"],
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def sqs_record(envelope: dict, name: str, queue: str) -> dict:
    body = json.dumps(envelope, ensure_ascii=False)
    return {
        "Records": [
            {
                "messageId": hashlib.sha256(body.encode()).hexdigest()[:8] + "-sample-" + name,
                "receiptHandle": "sample-receipt-handle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1763661840000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1763661840001",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:aftercare-" + queue,
                "awsRegion": "us-east-1",
            }
        ]
    }


def main() -> None:
    for path in sorted((HERE / "detail").glob("*.json")):
        detail = json.loads(path.read_text(encoding="utf-8"))
        out = HERE / path.name
        out.write_text(json.dumps(sqs_event(detail), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {out.relative_to(HERE.parent.parent)}")
    for path in sorted((HERE / "ses").glob("*.json")):
        envelope = json.loads(path.read_text(encoding="utf-8"))
        out = HERE / f"ses-{path.stem}.json"
        record = sqs_record(envelope, "ses-" + path.stem, "SesEventsQueue")
        out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {out.relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
