"""Runs moto server on 127.0.0.1 until standard input closes.

The test harness and the demo start this with a pipe on stdin; when they exit, for whatever
reason, the pipe closes and the server stops with them. The port is chosen by the OS and
printed as `ready <port>` once the server accepts connections.

Requests are handled one at a time. moto's TransactWriteItems is not safe under concurrent
requests: when a transaction is cancelled it restores a copy of the whole table taken when it
began, erasing whatever other requests wrote meanwhile. DynamoDB itself applies every call
atomically, so serialising the emulator's calls makes it behave like the real service, while
clients stay free to interleave their calls (which the concurrency tests rely on).
"""

import sys
import threading

from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


def serialised(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # Consume the whole response inside the lock: moto builds it eagerly anyway.
            return list(app(environ, start_response))

    return handle


def main() -> None:
    app = serialised(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready {port}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
