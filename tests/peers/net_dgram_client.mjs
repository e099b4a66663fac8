// Node's own `net` and `dgram` as the CLIENT of sansnet's demo (tests/tests/node_peer_client.rs).
//
// usage: node net_dgram_client.mjs TCP_PORT UDP_PORT UNIX_PATH
//
// Prints one JSON line per check ({"check": "tcp" | "unix" | "udp" | "half_open", ...}), then
// exits 0. Any failure prints {"check": "fatal", ...} and exits 1; the whole run is bounded.

import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

const [tcpPort, udpPort, unixPath] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
if (!tcpPort || !udpPort || !unixPath) {
  console.error('usage: node net_dgram_client.mjs TCP_PORT UDP_PORT UNIX_PATH');
  process.exit(2);
}

const deadline = setTimeout(() => fail(new Error('timed out after 30 s')), 30_000);

function fail(error) {
  console.log(JSON.stringify({ check: 'fatal', error: String(error && error.stack || error) }));
  process.exit(1);
}

function sha256(buffer) {
  return createHash('sha256').update(buffer).digest('hex');
}

// Deterministic pseudo-random bytes (xorshift32), so a failure can be replayed.
function pseudoRandom(length, seed) {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// Connects, writes `total` bytes in 64 KiB chunks honoring backpressure, ends, and collects
// the echo. Resolves with what the stream saw.
function streamEcho(connectOptions, total, seed) {
  return new Promise((resolve) => {
    const payload = pseudoRandom(total, seed);
    const events = [];
    const received = [];
    let receivedBytes = 0;
    let writesReturnedFalse = 0;
    let drains = 0;
    let finished = false;
    const socket = net.connect(connectOptions);
    socket.on('connect', () => {
      events.push('connect');
      let offset = 0;
      const pump = () => {
        while (offset < payload.length) {
          const chunk = payload.subarray(offset, Math.min(offset + 65536, payload.length));
          offset += chunk.length;
          if (!socket.write(chunk)) {
            writesReturnedFalse++;
            socket.once('drain', () => { drains++; pump(); });
            return;
          }
        }
        socket.end();
      };
      pump();
    });
    socket.on('data', (data) => { received.push(data); receivedBytes += data.length; });
    socket.on('end', () => events.push('end'));
    socket.on('finish', () => { finished = true; });
    socket.on('error', (error) => events.push(`error:${error.code}`));
    socket.on('close', (hadError) => {
      events.push(`close:${hadError}`);
      resolve({
        sent_bytes: payload.length,
        sent_sha256: sha256(payload),
        received_bytes: receivedBytes,
        received_sha256: sha256(Buffer.concat(received)),
        writes_returned_false: writesReturnedFalse,
        drains,
        finished,
        events,
      });
    });
  });
}

// Sends datagrams of three sizes from one unbound udp4 socket and reports each echo.
function udpEcho() {
  return new Promise((resolve, reject) => {
    const sizes = [1, 1500, 60000];
    const payloads = new Map(sizes.map((size, i) => [size, pseudoRandom(size, 1000 + i)]));
    const echoes = [];
    const socket = dgram.createSocket('udp4');
    socket.on('error', reject);
    socket.on('message', (msg, rinfo) => {
      const sent = payloads.get(msg.length);
      echoes.push({
        size: msg.length,
        matches_sent: sent !== undefined && sent.equals(msg),
        address: rinfo.address,
        family: rinfo.family,
        port: rinfo.port,
        rinfo_size: rinfo.size,
      });
      if (echoes.length === sizes.length) {
        socket.close(() => resolve({ sent_sizes: sizes, echoes }));
      }
    });
    for (const size of sizes) {
      socket.send(payloads.get(size), udpPort, '127.0.0.1', (error) => { if (error) reject(error); });
    }
  });
}

// allowHalfOpen on our side: write "ping" and end at once; the demo (not half-open) echoes
// "ping", then ends its side after our FIN.
function halfOpen() {
  return new Promise((resolve) => {
    const events = [];
    let data = '';
    const socket = net.connect({ host: '127.0.0.1', port: tcpPort, allowHalfOpen: true });
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      events.push('connect');
      socket.write('ping');
      socket.end();
    });
    socket.on('data', (chunk) => {
      if (events[events.length - 1] !== 'data') events.push('data');
      data += chunk;
    });
    socket.on('end', () => events.push('end'));
    socket.on('error', (error) => events.push(`error:${error.code}`));
    socket.on('close', (hadError) => {
      events.push(`close:${hadError}`);
      resolve({ data, events });
    });
  });
}

try {
  const tcp = await streamEcho({ host: '127.0.0.1', port: tcpPort }, 4 * 1024 * 1024, 0x5eed);
  console.log(JSON.stringify({ check: 'tcp', ...tcp }));
  const unix = await streamEcho({ path: unixPath }, 256 * 1024, 0xbeef);
  console.log(JSON.stringify({ check: 'unix', ...unix }));
  const udp = await udpEcho();
  console.log(JSON.stringify({ check: 'udp', ...udp }));
  const half = await halfOpen();
  console.log(JSON.stringify({ check: 'half_open', ...half }));
  clearTimeout(deadline);
} catch (error) {
  fail(error);
}
