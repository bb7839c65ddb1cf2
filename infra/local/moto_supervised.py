"""Runs moto server on 127.0.0.1 until standard input closes.

The test harness and the demo start this with a pipe on stdin; when they exit, for whatever
reason, the pipe closes and the server stops with them. The port is chosen by the OS and
printed as `ready <port>` once the server accepts connections.
"""

import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"ready {port}", flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
