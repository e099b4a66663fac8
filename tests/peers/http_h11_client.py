"""Python's h11 (a strict sans-I/O HTTP/1.1 implementation) as the CLIENT of sansnet's demo.

Usage: python3 http_h11_client.py HTTP_PORT

Used by tests/tests/http_h11_client.rs. On ONE connection: GET /hello; POST /echo with a
chunked body of several chunks; POST /echo with a Content-Length body; POST /echo with
`Expect: 100-continue`; then GET /hello with `Connection: close`, after which h11 must see the
server close (ConnectionClosed). h11 raises on any protocol violation in the responses, which
fails the script. Prints ONE JSON line of results. Every socket wait has a timeout.
"""

import hashlib
import json
import random
import socket
import sys

import h11

TIMEOUT_S = 10.0


class Client:
    """One h11 client connection over a blocking socket with a timeout."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.sock.settimeout(TIMEOUT_S)
        self.conn = h11.Connection(our_role=h11.CLIENT)
        self.reads = 0

    def send(self, *events):
        for event in events:
            data = self.conn.send(event)
            if data:
                self.sock.sendall(data)

    def next_event(self):
        """The next h11 event, reading from the socket as needed."""
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = self.sock.recv(65536)
            self.reads += 1
            self.conn.receive_data(data)  # b"" at end of stream

    def response(self):
        """Reads one response: (informational statuses, status, headers, body)."""
        informational = []
        while True:
            event = self.next_event()
            if isinstance(event, h11.InformationalResponse):
                informational.append(event.status_code)
                continue
            if not isinstance(event, h11.Response):
                raise RuntimeError(f"expected a response, got {event!r}")
            break
        head = event
        body = bytearray()
        while True:
            event = self.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise RuntimeError(f"unexpected event in a body: {event!r}")
        headers = {name.decode().lower(): value.decode() for name, value in head.headers}
        return informational, head.status_code, headers, bytes(body)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main():
    port = int(sys.argv[1])
    rng = random.Random(11)
    report = {}
    c = Client(port)
    host = ("Host", f"127.0.0.1:{port}")

    # 1. GET /hello.
    c.send(h11.Request(method="GET", target="/hello", headers=[host]), h11.EndOfMessage())
    _, status, headers, body = c.response()
    report["get"] = {"status": status, "body": body.decode(), "keep_alive": headers.get("keep-alive")}
    c.conn.start_next_cycle()

    # 2. POST /echo, chunked: h11 frames Data events as chunks when there is no Content-Length.
    chunks = [rng.randbytes(n) for n in (1, 100, 4096, 65536, 7)]
    c.send(
        h11.Request(
            method="POST",
            target="/echo",
            headers=[host, ("Transfer-Encoding", "chunked")],
        )
    )
    for chunk in chunks:
        c.send(h11.Data(data=chunk))
    c.send(h11.EndOfMessage())
    sent = b"".join(chunks)
    _, status, headers, body = c.response()
    report["chunked"] = {
        "status": status,
        "chunks": len(chunks),
        "sent_bytes": len(sent),
        "received_bytes": len(body),
        "same_sha256": sha256(body) == sha256(sent),
        "transfer_encoding": headers.get("transfer-encoding"),
    }
    c.conn.start_next_cycle()

    # 3. POST /echo with Content-Length.
    sent = rng.randbytes(100_000)
    c.send(
        h11.Request(
            method="POST",
            target="/echo",
            headers=[host, ("Content-Length", str(len(sent)))],
        ),
        h11.Data(data=sent),
        h11.EndOfMessage(),
    )
    _, status, headers, body = c.response()
    report["content_length"] = {
        "status": status,
        "sent_bytes": len(sent),
        "received_bytes": len(body),
        "same_sha256": sha256(body) == sha256(sent),
        "content_length": headers.get("content-length"),
    }
    c.conn.start_next_cycle()

    # 4. POST /echo with Expect: 100-continue: wait for the 100 before sending the body.
    sent = rng.randbytes(20_000)
    c.send(
        h11.Request(
            method="POST",
            target="/echo",
            headers=[host, ("Content-Length", str(len(sent))), ("Expect", "100-continue")],
        )
    )
    first = c.next_event()
    got_100_first = isinstance(first, h11.InformationalResponse) and first.status_code == 100
    c.send(h11.Data(data=sent), h11.EndOfMessage())
    informational, status, headers, body = c.response()
    report["expect_continue"] = {
        "got_100_before_body": got_100_first,
        "other_informational": informational,
        "status": status,
        "same_sha256": sha256(body) == sha256(sent),
    }
    c.conn.start_next_cycle()

    # 5. GET /hello with Connection: close: the server must close after the response.
    c.send(
        h11.Request(method="GET", target="/hello", headers=[host, ("Connection", "close")]),
        h11.EndOfMessage(),
    )
    _, status, headers, body = c.response()
    closed_event = c.next_event()
    report["close"] = {
        "status": status,
        "body": body.decode(),
        "connection": headers.get("connection"),
        "their_state": str(c.conn.their_state),
        "saw_connection_closed": isinstance(closed_event, h11.ConnectionClosed),
    }
    c.sock.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
