"""Runs moto server on 127.0.0.1 until standard input closes.

The test harness and the demo start this with a pipe on stdin; when they exit, for whatever
reason, the pipe closes and the server stops with them. The port is chosen by the OS and
printed as `ready <port>` once the server accepts connections.

Four changes make moto behave like DynamoDB where aftercare depends on it:

- Requests are handled one at a time. moto's TransactWriteItems is not safe under concurrent
  requests: when a transaction is cancelled it restores a copy of the whole table taken when it
  began, erasing whatever other requests wrote meanwhile. DynamoDB itself applies every call
  atomically, so serialising the emulator's calls makes it behave like the real service, while
  clients stay free to interleave their calls (which the concurrency tests rely on).
- A cancelled transaction restores only the items it touched. moto deep-copies the whole table
  once per item of every transaction to be able to roll back, so a transaction's cost grew with
  the table (seconds for tables of thousands of items on a busy machine, past the SDK's attempt
  timeout). DynamoDB's cost does not grow with the table, and with calls serialised, the items a
  transaction touches are all a rollback needs.
- A Query reads only the items it can match. moto reads, and sorts, every item of the table
  for each Query (the table's own partitions and indexes alike), so a Query's cost grew with the
  table: a sweep over a table of thousands of journeys took seconds. A Query of the table now
  reads its partition; a Query of an index reads the items with its partition key, from a
  lookup rebuilt after each write.
- TransactWriteItems honours `ClientRequestToken` as DynamoDB documents it: a repeat of a
  successful call with the same token and the same parameters within 10 minutes succeeds
  without applying anything again, and the same token with other parameters is refused with
  `IdempotentParameterMismatchException`. moto ignores the token, so the retry of a transaction
  whose answer was lost found its own writes and failed their conditions.
"""

import copy
import hashlib
import io
import json
import sys
import threading
import time

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

IDEMPOTENCY_WINDOW_SECONDS = 600
TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"


class _TablesAreNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend while a transaction runs:
    a table is "copied" as itself (the touched items are saved instead); anything else is
    copied as before."""

    @staticmethod
    def deepcopy(value, *args, **kwargs):
        if isinstance(value, dynamodb_models.Table):
            return value
        return copy.deepcopy(value, *args, **kwargs)


def _touched_items(backend, transact_items):
    """The items a transaction writes, as they are before it: (table, hash, range, item)."""
    saved = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = backend.tables[op["TableName"]]
            attributes = op.get("Item") or op["Key"]
            hash_key = DynamoType(attributes[table.hash_key_attr])
            range_key = (
                DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
            )
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        except Exception:
            # A malformed entry: moto reports what is wrong with it, and it writes nothing.
            continue
    return saved


def _restore(saved):
    for table, hash_key, range_key, item in saved:
        _changed(table)
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    saved = _touched_items(self, transact_items)
    real_copy = dynamodb_models.copy
    dynamodb_models.copy = _TablesAreNotCopied
    try:
        return _moto_transact_write_items(self, transact_items)
    except BaseException:
        _restore(saved)
        raise
    finally:
        dynamodb_models.copy = real_copy


DynamoDBBackend.transact_write_items = transact_write_items


def _changed(table):
    table.aftercare_version = getattr(table, "aftercare_version", 0) + 1


def _counting_writes(write):
    def counted(self, *args, **kwargs):
        try:
            return write(self, *args, **kwargs)
        finally:
            _changed(self)

    return counted


dynamodb_models.Table.put_item = _counting_writes(dynamodb_models.Table.put_item)
dynamodb_models.Table.delete_item = _counting_writes(dynamodb_models.Table.delete_item)
_moto_update_item = DynamoDBBackend.update_item


def update_item(self, table_name, *args, **kwargs):
    # moto changes the item in place, past the table's put_item.
    try:
        return _moto_update_item(self, table_name, *args, **kwargs)
    finally:
        if table_name in self.tables:
            _changed(self.tables[table_name])


DynamoDBBackend.update_item = update_item


def _index_lookup(table, attribute):
    """Items by their value of `attribute`, as of the table's last write."""
    version = getattr(table, "aftercare_version", 0)
    cache = getattr(table, "aftercare_lookups", {})
    if cache.get("version") != version:
        cache = {"version": version}
        table.aftercare_lookups = cache
    if attribute not in cache:
        lookup = {}
        for item in dynamodb_models.Table.all_items(table):
            value = item.attrs.get(attribute)
            if value is not None:
                lookup.setdefault(value, []).append(item)
        cache[attribute] = lookup
    return cache[attribute]


_moto_query = dynamodb_models.Table.query


def query(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name:
        conditions = kwargs.get("hash_key_conditions") or []
        if len(conditions) != 1:
            return _moto_query(self, hash_key, *args, **kwargs)
        attribute, value = conditions[0]
        candidates = list(_index_lookup(self, attribute).get(value, []))
    elif hash_key is not None:
        partition = self.items.get(hash_key)
        if partition is None:
            candidates = []
        elif self.range_key_attr:
            candidates = list(partition.values())
        else:
            candidates = [partition]
    else:
        return _moto_query(self, hash_key, *args, **kwargs)
    candidates.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
    # moto's query filters whatever all_items gives it; here, only the candidates.
    self.all_items = lambda: candidates
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


dynamodb_models.Table.query = query


def serialised(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # Consume the whole response inside the lock: moto builds it eagerly anyway.
            return list(app(environ, start_response))

    return handle


def idempotent_transactions(app):
    """Answers a repeated TransactWriteItems (same ClientRequestToken) as DynamoDB does."""
    answered = {}  # token -> (when, fingerprint, status, headers, body)

    def handle(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET") != TRANSACT_WRITE:
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            request = json.loads(body)
        except ValueError:
            return app(environ, start_response)
        token = request.pop("ClientRequestToken", None)
        if not token:
            return app(environ, start_response)
        fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        now = time.monotonic()
        for old in [t for t, (when, *_) in answered.items() if now - when > IDEMPOTENCY_WINDOW_SECONDS]:
            del answered[old]
        if token in answered:
            _, seen, status, headers, chunks = answered[token]
            if seen != fingerprint:
                message = json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                    "message": "The request uses the same client token as a previous, but non-identical request.",
                }).encode()
                start_response("400 Bad Request", [
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("Content-Length", str(len(message))),
                ])
                return [message]
            start_response(status, headers)
            return chunks
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, list(headers)
            return start_response(status, headers, exc_info)

        chunks = list(app(environ, capture))
        if captured.get("status", "").startswith("200"):
            answered[token] = (now, fingerprint, captured["status"], captured["headers"], chunks)
        return chunks

    return handle


def main() -> None:
    app = serialised(idempotent_transactions(DomainDispatcherApplication(create_backend_app)))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready {port}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
