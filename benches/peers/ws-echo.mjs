// The `ws` package's echo server, the Node peer of the WebSocket half of benches/e2e.sh. `ws`
// is resolved through NODE_PATH (e2e.sh installs it under target/peers/node_modules, as the tests do).
//
//   node ws-echo.mjs [PORT]
//
// Listens on 127.0.0.1:PORT (default 0, a free port), prints `listening ws 127.0.0.1:P`, and
// echoes every message with the binary flag it came with. Runs until killed.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2] ?? 0);
const server = new WebSocketServer({ host: "127.0.0.1", port }, () => {
  const { address, port } = server.address();
  console.log(`listening ws ${address}:${port}`);
});
server.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});
