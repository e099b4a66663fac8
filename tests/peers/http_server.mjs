// Node's `http` server as the real peer of sansnet's HTTP client (tests/tests/http_client_*.rs).
//
// Usage: node http_server.mjs [--keep-alive-timeout MS]
// (Node 20 closes an idle socket about 1 s after keepAliveTimeout, and announces
// `Keep-Alive: timeout=floor(MS/1000)`.)
//
// Listens on 127.0.0.1, port 0, prints {"port":N} on one line and exits when stdin closes (or
// after a 120 s watchdog). Routes:
//   GET  /n               the number of requests this socket has carried, counting this one
//   GET  /drop-if-reused  destroys the socket without answering if it carried a request
//                         before, else like /n
//   GET  /headers         the request's headers as JSON
//   GET  /bytes-read?port=P  bytesRead of the server socket whose remote port is P, as JSON
//   POST /continue-ok     with Expect: 100-continue: writeContinue(), then the body echoed
//   POST /continue-no     with Expect: 100-continue: 417 at once, the body never read
//   POST|PUT anything     the body echoed
//   anything else         200 "ok"
// `upgrade`: answers 101 (Upgrade: foo), writes "hello-upgraded" raw, then echoes.
// `connect`: answers 200 Connection Established, then echoes.
import http from 'node:http';

const args = process.argv.slice(2);
const kat = args.indexOf('--keep-alive-timeout');

const watchdog = setTimeout(() => process.exit(3), 120_000);
watchdog.unref();

/** Remote port -> the server socket, kept after close so bytesRead can still be asked for. */
const sockets = new Map();

function echo(req, res) {
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': body.length,
    });
    res.end(body);
  });
}

function route(req, res) {
  const socket = req.socket;
  socket.sansnetCount = (socket.sansnetCount ?? 0) + 1;
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/n') {
    res.end(String(socket.sansnetCount));
  } else if (req.method === 'GET' && url.pathname === '/drop-if-reused') {
    if (socket.sansnetCount > 1) {
      socket.destroy(); // no response: the client sees its reused connection close
    } else {
      res.end(String(socket.sansnetCount));
    }
  } else if (req.method === 'GET' && url.pathname === '/headers') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(req.headers));
  } else if (req.method === 'GET' && url.pathname === '/bytes-read') {
    const peer = sockets.get(Number(url.searchParams.get('port')));
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ known: peer !== undefined, bytesRead: peer ? peer.bytesRead : 0 }));
  } else if (req.method === 'POST' || req.method === 'PUT') {
    echo(req, res);
  } else {
    res.end('ok');
  }
}

const server = http.createServer(route);
if (kat !== -1) {
  // A property, not a createServer option, in Node 20.
  server.keepAliveTimeout = Number(args[kat + 1]);
}

server.on('connection', (socket) => {
  sockets.set(socket.remotePort, socket);
});

server.on('checkContinue', (req, res) => {
  const socket = req.socket;
  socket.sansnetCount = (socket.sansnetCount ?? 0) + 1;
  if (req.url.startsWith('/continue-no')) {
    // Refuse without reading: the client must not send the body (and must not reuse the
    // connection, whose request body is still owed).
    res.writeHead(417, { 'Content-Length': 0 });
    res.end();
    return;
  }
  res.writeContinue();
  echo(req, res);
});

server.on('upgrade', (req, socket, head) => {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\nhello-upgraded',
  );
  if (head.length > 0) {
    socket.write(head);
  }
  socket.on('data', (d) => socket.write(d));
  socket.on('end', () => socket.end());
  socket.on('error', () => {});
});

server.on('connect', (req, socket, head) => {
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) {
    socket.write(head);
  }
  socket.on('data', (d) => socket.write(d));
  socket.on('end', () => socket.end());
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
