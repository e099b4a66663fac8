// Node's `https` and `tls` modules and the `ws` package as CLIENTS of sansnet's demo over TLS
// (tests/tests/tls_peers.rs).
//
// Usage: node tls_node_client.mjs HTTPS_PORT CA_PEM
//
// Runs, in order: 3 GET /hello on a keep-alive https.Agent with maxSockets 1 (one TLS
// session carries all three); a 256 KiB POST /echo; a wss:// echo through `ws` (NODE_PATH);
// a GET without the demo's CA (must fail verification); a raw `tls.connect` that sends an
// HTTP request by hand and reads the close-delimited answer. Prints ONE JSON line; the Rust
// test asserts each value. Bounded by a watchdog.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import { createRequire } from "node:module";
import tls from "node:tls";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");

const port = Number(process.argv[2]);
const ca = fs.readFileSync(process.argv[3]);
const host = "localhost";
setTimeout(() => {
  console.error("tls_node_client.mjs: watchdog fired after 40 s");
  process.exit(3);
}, 40000).unref();

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

function request(options, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port, ca, ...options }, (res) => {
      const chunks = [];
      // The socket goes back to the agent at 'end': read its facts now.
      const tlsFacts = {
        alpn: res.socket.alpnProtocol,
        protocol: res.socket.getProtocol(),
        authorized: res.socket.authorized,
        localPort: res.socket.localPort,
      };
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode,
          body: Buffer.concat(chunks),
          reused: req.reusedSocket,
          ...tlsFacts,
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

const report = {};

const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
const gets = [];
for (let i = 0; i < 3; i++) {
  gets.push(await request({ path: "/hello", agent }));
}
report.keep_alive = {
  statuses: gets.map((r) => r.status),
  bodies: gets.map((r) => r.body.toString()),
  reused: gets.map((r) => r.reused),
  distinct_local_ports: new Set(gets.map((r) => r.localPort)).size,
  alpn: gets[0].alpn,
  protocol: gets[0].protocol,
  authorized: gets[0].authorized,
};
agent.destroy();

const upload = randomBytes(256 * 1024);
const echoed = await request({ method: "POST", path: "/echo", agent: false }, upload);
report.echo = {
  status: echoed.status,
  sent: upload.length,
  received: echoed.body.length,
  same_sha256: sha256(echoed.body) === sha256(upload),
};

report.wss = await new Promise((resolve) => {
  const ws = new WebSocket(`wss://${host}:${port}/ws`, { ca });
  const got = [];
  ws.on("open", () => {
    ws.send("hello over wss");
    ws.send(Buffer.from([0, 1, 2, 255]));
  });
  ws.on("message", (data, isBinary) => {
    got.push(isBinary ? `binary:${Buffer.from(data).toString("hex")}` : `text:${data}`);
    if (got.length === 2) ws.close(1000, "done");
  });
  ws.on("close", (code) => resolve({ messages: got, close_code: code }));
  ws.on("error", (err) => resolve({ error: err.code || err.message }));
});

report.untrusted = await new Promise((resolve) => {
  const req = https.get({ host, port, path: "/hello", agent: false }, (res) => {
    res.resume();
    resolve({ status: res.statusCode });
  });
  req.on("error", (err) => resolve({ error: err.code }));
});

report.raw = await new Promise((resolve) => {
  const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: host }, () => {
    socket.write("GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  });
  const chunks = [];
  socket.on("data", (c) => chunks.push(c));
  socket.on("end", () => {
    const text = Buffer.concat(chunks).toString();
    resolve({
      status_line: text.split("\r\n")[0],
      body: text.split("\r\n\r\n")[1],
      authorized: socket.authorized,
    });
  });
  socket.on("error", (err) => resolve({ error: err.code || err.message }));
});

console.log(JSON.stringify(report));
process.exit(0);
