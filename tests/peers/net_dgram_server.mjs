// Node's own `net` and `dgram` as the SERVERS sansnet's driver connects to
// (tests/tests/node_peer_server.rs).
//
// usage: node net_dgram_server.mjs
//
// - an echo server (`socket.pipe(socket)`, default allowHalfOpen: false) on 127.0.0.1:0;
// - a half-open server (allowHalfOpen: true) that reads until the client's FIN, then writes
//   "late reply" and ends: half-open seen from the other direction;
// - a udp4 echo socket on 127.0.0.1:0.
//
// Prints {"echo": PORT, "half_open": PORT, "udp": PORT} once all three are bound, then one
// line {"half_open_received": "..."} per half-open connection, and serves until stdin closes
// (the test dropped us) or 60 s passed.

import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';

const echo = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.pipe(socket);
});

const halfOpen = net.createServer({ allowHalfOpen: true }, (socket) => {
  let received = '';
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  socket.on('data', (chunk) => { received += chunk; });
  socket.on('end', () => {
    console.log(JSON.stringify({ half_open_received: received }));
    socket.end('late reply');
  });
});

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
udp.on('error', (error) => { console.error(error); process.exit(1); });

echo.listen(0, '127.0.0.1');
halfOpen.listen(0, '127.0.0.1');
udp.bind(0, '127.0.0.1');
await Promise.all([once(echo, 'listening'), once(halfOpen, 'listening'), once(udp, 'listening')]);

console.log(JSON.stringify({
  echo: echo.address().port,
  half_open: halfOpen.address().port,
  udp: udp.address().port,
}));

const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setTimeout(stop, 60_000).unref();
