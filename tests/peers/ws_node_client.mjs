// The `ws` package as a WebSocket client of the sansnet demo. `ws` is resolved through
// NODE_PATH (target/peers/node_modules). Prints one JSON line.
//
//   ws_node_client.mjs echo URL      text, 1 MiB binary, ping/pong, close 1000 on /ws; reports
//                                    the negotiated extensions and the bytes read from the
//                                    socket (the 1 MiB echo is compressible)
//   ws_node_client.mjs chat URL      two clients on /chat; one sends, both must receive
//   ws_node_client.mjs listen URL TEXT
//       one /chat client: prints {"open":true} once open, then waits (at most 60 s) for a
//       message equal to TEXT and prints what it received
import { createHash } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");

const [mode, url, text] = process.argv.slice(2);
const fail = (why) => {
  console.error(why);
  process.exit(1);
};
setTimeout(() => fail(`ws_node_client ${mode}: timed out`), 60_000).unref();

const open = (u) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(u, { maxPayload: 0 });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
const nextMessage = (ws) =>
  new Promise((resolve) => ws.once("message", (data, isBinary) => resolve({ data, isBinary })));
const sha = (buf) => createHash("sha256").update(buf).digest("hex");

async function echo() {
  const ws = await open(url);
  const report = {};
  ws.send("hello from node");
  let m = await nextMessage(ws);
  report.text = m.data.toString();
  report.text_is_binary = m.isBinary;
  const blob = Buffer.alloc(1 << 20);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 17 + 3) & 0xff;
  ws.send(blob);
  m = await nextMessage(ws);
  report.binary_len = m.data.length;
  report.binary_same = m.isBinary && sha(m.data) === sha(blob);
  report.extensions = ws.extensions;
  report.bytes_read = ws._socket.bytesRead;
  const pong = new Promise((resolve) => ws.once("pong", (data) => resolve(data.toString())));
  ws.ping("node ping");
  report.pong = await pong;
  const closed = new Promise((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.close(1000, "node done");
  const c = await closed;
  report.close_code = c.code;
  report.close_reason = c.reason;
  console.log(JSON.stringify(report));
}

async function chat() {
  const a = await open(url);
  const b = await open(url);
  const gotA = nextMessage(a);
  const gotB = nextMessage(b);
  a.send("broadcast from a");
  const [ma, mb] = await Promise.all([gotA, gotB]);
  const report = { a: ma.data.toString(), b: mb.data.toString() };
  const closes = [a, b].map((ws) => new Promise((resolve) => ws.once("close", resolve)));
  a.close(1000);
  b.close(1000);
  report.close_codes = await Promise.all(closes);
  console.log(JSON.stringify(report));
}

async function listen() {
  const ws = await open(url);
  const received = [];
  const done = new Promise((resolve) =>
    ws.on("message", (data) => {
      received.push(data.toString());
      if (data.toString() === text) resolve();
    }),
  );
  console.log(JSON.stringify({ open: true }));
  await done;
  ws.close(1000);
  console.log(JSON.stringify({ received }));
}

({ echo, chat, listen })[mode]().catch((e) => fail(`ws_node_client ${mode}: ${e.stack || e}`));
