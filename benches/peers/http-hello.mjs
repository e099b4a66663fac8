// Node's `http.createServer` hello world, the Node peer of benches/e2e.sh and memory.sh.
//
//   node http-hello.mjs [PORT] [--no-idle-timeout]
//
// Listens on 127.0.0.1:PORT (default 0, a free port), prints `listening http 127.0.0.1:P`,
// and answers every request with 200, `Content-Type: text/plain` and `Hello, World!` (with
// `Content-Length`, as ours and hyper send it, rather than Node's chunked default).
// `--no-idle-timeout` sets `server.keepAliveTimeout = 0` (no idle close), as the memory
// bench does for every server. Runs until killed.
import http from "node:http";

const BODY = Buffer.from("Hello, World!");
const args = process.argv.slice(2);
const port = Number(args.find((a) => /^\d+$/.test(a)) ?? 0);
const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": BODY.length });
  res.end(BODY);
});
if (args.includes("--no-idle-timeout")) {
  server.keepAliveTimeout = 0;
}
server.listen(port, "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening http ${address}:${port}`);
});
