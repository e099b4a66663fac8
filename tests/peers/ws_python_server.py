"""Python `websockets` (sync API) as a WebSocket echo server on 127.0.0.1, port 0.

Prints {"port": N} once listening, then echoes every message; logs each connection's close
code to stderr. Runs until killed.
"""

import json
import sys

from websockets.sync.server import serve


def echo(ws) -> None:
    for message in ws:
        ws.send(message)
    print(f"closed {ws.close_code} {ws.close_reason!r}", file=sys.stderr, flush=True)


def main() -> None:
    with serve(echo, "127.0.0.1", 0, max_size=None) as server:
        port = server.socket.getsockname()[1]
        print(json.dumps({"port": port}), flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
