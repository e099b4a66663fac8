// Node's `http` module as the CLIENT of sansnet's demo HTTP server (tests/tests/http_node_client.rs).
//
// Usage: node http_client.mjs HTTP_PORT
//
// Runs, in order: 5 sequential GET /hello on a keep-alive Agent with maxSockets 1; a burst of
// 10 parallel GETs on such an Agent; a 1 MiB POST /echo with `Expect: 100-continue` whose body
// is written on 'continue'; a GET with `Connection: Upgrade` / `Upgrade: foo` (the demo has no
// upgrade listener, so a plain response is expected); a CONNECT to a `net` echo server started
// here. Prints ONE JSON line with the results; the Rust test asserts each value. Every step is
// bounded by a timer, and the whole script by a watchdog.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: node http_client.mjs HTTP_PORT');
  process.exit(2);
}
const host = '127.0.0.1';
const STEP_MS = 20000;

const watchdog = setTimeout(() => {
  console.error('http_client.mjs: watchdog fired after 50 s');
  process.exit(3);
}, 50000);

/** Rejects after STEP_MS with `what`. */
function bounded(what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), STEP_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** One request; resolves with status, body, the socket's local port and `reusedSocket`. */
function request(options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, ...options }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          body: Buffer.concat(chunks),
          localPort: req.socket.localPort,
          reused: req.reusedSocket,
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** (1) 5 sequential GETs over a keep-alive Agent with one socket. */
async function sequential() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const results = [];
  for (let i = 0; i < 5; i++) {
    results.push(await request({ agent, path: `/hello?n=${i}` }));
  }
  agent.destroy();
  return {
    statuses: results.map((r) => r.status),
    bodies: results.map((r) => r.body.toString()),
    distinct_local_ports: new Set(results.map((r) => r.localPort)).size,
    reused: results.map((r) => r.reused),
    keep_alive_headers: results.map((r) => r.headers['keep-alive'] ?? null),
  };
}

/** (2) 10 requests issued at once over an Agent with maxSockets 1. */
async function burst() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const finished = [];
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      request({ agent, path: `/hello?burst=${i}` }).then((r) => {
        finished.push(i);
        return r;
      }),
    ),
  );
  agent.destroy();
  return {
    statuses: results.map((r) => r.status),
    bodies_ok: results.every((r) => r.body.toString() === 'hello world'),
    finish_order: finished,
    distinct_local_ports: new Set(results.map((r) => r.localPort)).size,
  };
}

/** (3) POST /echo of 1 MiB with `Expect: 100-continue`; the body goes out on 'continue'. */
function expectContinue() {
  const body = randomBytes(1024 * 1024);
  return new Promise((resolve, reject) => {
    let continued = false;
    let wroteBeforeContinue = false;
    const req = http.request({
      host,
      port,
      agent: false,
      method: 'POST',
      path: '/echo',
      headers: { Expect: '100-continue', 'Content-Length': body.length },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('information', (info) => {
      if (info.statusCode !== 100) wroteBeforeContinue = true;
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const echoed = Buffer.concat(chunks);
        resolve({
          continue_event: continued,
          other_informational: wroteBeforeContinue,
          status: res.statusCode,
          sent_bytes: body.length,
          received_bytes: echoed.length,
          same_sha256: sha256(echoed) === sha256(body),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** (4) An upgrade request; the demo has no 'upgrade' listener, so it is served normally. */
function upgrade() {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host,
      port,
      agent: false,
      path: '/hello',
      headers: { Connection: 'Upgrade', Upgrade: 'foo' },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ event: 'upgrade', status: res.statusCode, body: '' });
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          event: 'response',
          status: res.statusCode,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** (5) CONNECT to a `net` echo server started here, and a round trip through the tunnel. */
async function connect() {
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise((resolve) => echo.listen(0, host, resolve));
  const target = `${host}:${echo.address().port}`;
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request({ host, port, agent: false, method: 'CONNECT', path: target });
      req.on('connect', (res, socket, head) => {
        const payload = randomBytes(64 * 1024);
        const chunks = [head];
        let got = head.length;
        socket.on('data', (c) => {
          chunks.push(c);
          got += c.length;
          if (got >= payload.length) {
            const echoed = Buffer.concat(chunks);
            socket.destroy();
            resolve({
              event: 'connect',
              status: res.statusCode,
              content_length: res.headers['content-length'] ?? null,
              sent_bytes: payload.length,
              received_bytes: echoed.length,
              same_sha256: sha256(echoed) === sha256(payload),
            });
          }
        });
        socket.on('error', reject);
        socket.write(payload);
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ event: 'response', status: res.statusCode });
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    echo.close();
  }
}

const report = {};
report.sequential = await bounded('sequential keep-alive GETs', sequential());
report.burst = await bounded('burst of 10 GETs', burst());
report.expect_continue = await bounded('POST with Expect: 100-continue', expectContinue());
report.upgrade = await bounded('upgrade request', upgrade());
report.connect = await bounded('CONNECT tunnel', connect());
clearTimeout(watchdog);
console.log(JSON.stringify(report));
