"""Python `websockets` (sync API) as a WebSocket client of the sansnet demo's `/ws` echo.

Usage: ws_python_client.py URL. Sends a text message, a 1 MiB binary message, a message
fragmented into three frames, and a ping; closes with 1000. Prints one JSON line, with the
negotiated extensions and how many frames arrived compressed (RSV1, RFC 7692).
"""

import hashlib
import json
import sys

from websockets.extensions import permessage_deflate
from websockets.sync.client import connect

# Count the frames that arrive with RSV1 set (compressed by the server).
COMPRESSED_IN = 0
_decode = permessage_deflate.PerMessageDeflate.decode


def _counting_decode(self, frame, *args, **kwargs):
    global COMPRESSED_IN
    if frame.rsv1:
        COMPRESSED_IN += 1
    return _decode(self, frame, *args, **kwargs)


permessage_deflate.PerMessageDeflate.decode = _counting_decode


def main() -> None:
    url = sys.argv[1]
    report = {"version": __import__("websockets").__version__}
    with connect(url, max_size=None, open_timeout=10, close_timeout=10) as ws:
        report["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        ws.send("hello from python")
        report["text"] = ws.recv(timeout=10)

        blob = bytes((i * 31 + 7) % 256 for i in range(1 << 20))
        ws.send(blob)
        back = ws.recv(timeout=20)
        report["binary_len"] = len(back)
        report["binary_same"] = hashlib.sha256(back).hexdigest() == hashlib.sha256(blob).hexdigest()

        # An iterable is sent as one message in several frames (RFC 6455 §5.4).
        ws.send(iter(["frag-", "ment-", "ed"]))
        report["fragmented"] = ws.recv(timeout=10)

        pong = ws.ping(b"are you there")
        report["pong"] = pong.wait(10)

        ws.close(1000, "python done")
        report["close_code"] = ws.close_code
        report["close_reason"] = ws.close_reason
    report["compressed_in"] = COMPRESSED_IN
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
