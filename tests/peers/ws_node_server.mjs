// The `ws` package as a WebSocket echo server on 127.0.0.1, port 0: prints {"port": N} once
// listening, echoes every message (text stays text), logs each close to stderr. Runs until
// killed. `ws` is resolved through NODE_PATH (target/peers/node_modules).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { WebSocketServer } = require("ws");

const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
server.on("listening", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("close", (code, reason) => console.error(`closed ${code} ${reason}`));
});
