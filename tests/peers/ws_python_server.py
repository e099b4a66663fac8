"""Python `websockets` (sync API) as a WebSocket echo server on 127.0.0.1, port 0.

Prints {"port": N} once listening, then echoes every message; logs each connection's close
code, its negotiated extensions and how many frames arrived compressed (RSV1, RFC 7692) to
stderr. permessage-deflate is on, as `websockets` has it by default. Runs until killed.
"""

import json
import sys

from websockets.extensions import permessage_deflate
from websockets.sync.server import serve

# Count the frames that arrive with RSV1 set (compressed by the client).
COMPRESSED_IN = 0
_decode = permessage_deflate.PerMessageDeflate.decode


def _counting_decode(self, frame, *args, **kwargs):
    global COMPRESSED_IN
    if frame.rsv1:
        COMPRESSED_IN += 1
    return _decode(self, frame, *args, **kwargs)


permessage_deflate.PerMessageDeflate.decode = _counting_decode


def echo(ws) -> None:
    for message in ws:
        ws.send(message)
    extensions = ws.request.headers.get("Sec-WebSocket-Extensions")
    print(f"offered {extensions!r}", file=sys.stderr, flush=True)
    print(
        f"closed {ws.close_code} {ws.close_reason!r} compressed_in={COMPRESSED_IN}",
        file=sys.stderr,
        flush=True,
    )


def main() -> None:
    with serve(echo, "127.0.0.1", 0, max_size=None) as server:
        port = server.socket.getsockname()[1]
        print(json.dumps({"port": port}), flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
