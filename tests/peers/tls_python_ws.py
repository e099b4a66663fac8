"""Python's `ssl` module with `websockets` (sync API) over wss://, both roles, for
tests/tests/tls_peers.rs.

  python3 tls_python_ws.py client PORT CA_PEM   # wss://localhost:PORT/ws: echo round trips
  python3 tls_python_ws.py server CERT KEY      # a wss echo server on 127.0.0.1, port 0

The client prints ONE JSON line (what came back, the TLS version and ALPN the ssl module
saw); the server prints {"port": N} once listening and echoes until killed.
"""

import json
import ssl
import sys

from websockets.sync.client import connect
from websockets.sync.server import serve


def client(port: int, ca: str) -> None:
    context = ssl.create_default_context(cafile=ca)
    with connect(f"wss://localhost:{port}/ws", ssl=context, open_timeout=10) as ws:
        ws.send("hello from python over wss")
        text = ws.recv(timeout=10)
        ws.send(bytes(range(256)) * 64)
        binary = ws.recv(timeout=10)
        tls = ws.socket
        report = {
            "text": text,
            "binary_len": len(binary),
            "binary_ok": binary == bytes(range(256)) * 64,
            "version": tls.version(),
            "alpn": tls.selected_alpn_protocol(),
        }
    report["close_code"] = ws.close_code
    print(json.dumps(report), flush=True)


def server(cert: str, key: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def echo(ws) -> None:
        for message in ws:
            ws.send(message)
        print(f"closed {ws.close_code}", file=sys.stderr, flush=True)

    with serve(echo, "127.0.0.1", 0, ssl=context, max_size=None) as srv:
        print(json.dumps({"port": srv.socket.getsockname()[1]}), flush=True)
        srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        client(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:2] == ["server"]:
        server(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: tls_python_ws.py client PORT CA | server CERT KEY")
