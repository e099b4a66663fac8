// The `ws` package as a WebSocket echo server on 127.0.0.1, port 0: prints {"port": N} once
// listening, echoes every message (text stays text), logs each close to stderr with the
// negotiated extensions and the bytes read from the socket (perMessageDeflate on, threshold 0,
// so compression shows in the byte count). Runs until killed. `ws` is resolved through
// NODE_PATH (target/peers/node_modules).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { WebSocketServer } = require("ws");

const server = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  perMessageDeflate: { threshold: 0 },
});
server.on("listening", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
server.on("connection", (ws, request) => {
  const socket = request.socket;
  console.error(`offered ${request.headers["sec-websocket-extensions"]}`);
  let bytesRead = 0;
  ws.on("message", (data, isBinary) => {
    bytesRead = socket.bytesRead;
    ws.send(data, { binary: isBinary });
  });
  ws.on("close", (code, reason) =>
    console.error(`closed ${code} ${reason} extensions=${ws.extensions} bytes_read=${bytesRead}`),
  );
});
