// Node's `https` and `tls` modules as SERVERS for sansnet's TLS client (tests/tests/tls_peers.rs,
// tests/tests/tls_resumption.rs).
//
// Usage: node tls_node_server.mjs CERT_PEM KEY_PEM [CLIENT_CA_PEM]
//
// Starts, on 127.0.0.1 port 0:
// - an `https` server: `POST` echoes the body; any other method answers a JSON object with
//   what Node saw of the TLS connection (`authorized`, `servername`, `alpn`, `protocol`, the
//   client certificate's CN, `reused`: `isSessionReused()`);
// - a `tls` echo server (ALPN `http/1.1`, or none if not offered).
// With CLIENT_CA_PEM both require a client certificate signed by it (requestCert +
// rejectUnauthorized). Prints {"https": N, "tls": N} once both listen; runs until killed.
import fs from "node:fs";
import https from "node:https";
import tls from "node:tls";

const [certFile, keyFile, caFile] = process.argv.slice(2);
if (!certFile || !keyFile) {
  console.error("usage: node tls_node_server.mjs CERT_PEM KEY_PEM [CLIENT_CA_PEM]");
  process.exit(2);
}
const options = {
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  ALPNProtocols: ["http/1.1"],
};
if (caFile) {
  options.ca = fs.readFileSync(caFile);
  options.requestCert = true;
  options.rejectUnauthorized = true;
}

const facts = (socket) => {
  const peer = socket.getPeerCertificate();
  return {
    authorized: socket.authorized,
    servername: socket.servername || null,
    alpn: socket.alpnProtocol || null,
    protocol: socket.getProtocol(),
    client_cn: peer && peer.subject ? peer.subject.CN : null,
    reused: socket.isSessionReused(),
  };
};

const web = https.createServer(options, (req, res) => {
  if (req.method === "POST") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => res.end(Buffer.concat(chunks)));
    return;
  }
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ path: req.url, ...facts(req.socket) }));
});
web.on("tlsClientError", (err) => console.error(`https tlsClientError ${err.code || err.message}`));

const raw = tls.createServer(options, (socket) => {
  console.error(`tls secureConnection ${JSON.stringify(facts(socket))}`);
  socket.pipe(socket);
  socket.on("error", (err) => console.error(`tls socket error ${err.code || err.message}`));
});
raw.on("tlsClientError", (err) => console.error(`tls tlsClientError ${err.code || err.message}`));

let listening = 0;
const ready = () => {
  listening += 1;
  if (listening === 2) {
    console.log(JSON.stringify({ https: web.address().port, tls: raw.address().port }));
  }
};
web.listen(0, "127.0.0.1", ready);
raw.listen(0, "127.0.0.1", ready);
