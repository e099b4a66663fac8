"""Python's http.server answering HTTP/1.0 with close-delimited bodies (no Content-Length).

The real peer of tests/tests/http_client_python_server.rs. Listens on 127.0.0.1, port 0,
prints {"port": N} on one line and serves until stdin closes (or a 120 s watchdog fires).

GET /stream?n=N   200, N bytes of b"0123456789" repeated, written in 4 KiB pieces with no
                  Content-Length: the body ends when the server closes the connection.
anything else     404 from send_error (which sets Content-Length).
"""

import http.server
import json
import os
import sys
import threading
import urllib.parse

PATTERN = b"0123456789"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/stream":
            self.send_error(404)
            return
        n = int(urllib.parse.parse_qs(url.query).get("n", ["0"])[0])
        body = (PATTERN * (n // len(PATTERN) + 1))[:n]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        for at in range(0, len(body), 4096):
            self.wfile.write(body[at : at + 4096])
            self.wfile.flush()
        self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write("%s\n" % (format % args))


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    watchdog = threading.Timer(120, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()
    sys.stdin.read()  # until stdin closes
    server.shutdown()


if __name__ == "__main__":
    main()
