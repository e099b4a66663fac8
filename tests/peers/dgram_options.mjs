// Node's own `dgram` with socket options as the PEER of sansnet's driver
// (tests/tests/dgram_options.rs): broadcast and multicast over loopback, both directions.
//
// usage: node dgram_options.mjs broadcast|multicast OUR_PORT
//
// - broadcast: binds udp4 0.0.0.0:0, setBroadcast(true). For each datagram received it
//   answers "from node" to 127.255.255.255:OUR_PORT.
// - multicast: binds udp4 0.0.0.0:0, addMembership('239.255.0.1', '127.0.0.1'),
//   setMulticastInterface('127.0.0.1'), setMulticastLoopback(true), setMulticastTTL(1).
//   The first datagram makes it dropMembership() (so that only the test's membership can
//   bring group datagrams to the test) and answer "from node" to 239.255.0.1:OUR_PORT; the
//   second (unicast) is answered with "after drop" to the group, then "marker" to 127.0.0.1:OUR_PORT
//   (the test dropped its membership in between, so only the marker may reach it).
//
// Prints {"port": P} once bound, one {"received": TEXT, "address": A, "port": N} line per
// datagram and {"sent": TEXT} per answer sent; exits 0 after its last answer. Any failure
// prints {"fatal": ...} and exits 1; the whole run is bounded to 20 s.

import dgram from 'node:dgram';

const [mode, ourPort] = [process.argv[2], Number(process.argv[3])];
if (!['broadcast', 'multicast'].includes(mode) || !ourPort) {
  console.error('usage: node dgram_options.mjs broadcast|multicast OUR_PORT');
  process.exit(2);
}
const GROUP = '239.255.0.1';

function fail(error) {
  console.log(JSON.stringify({ fatal: String(error && error.stack || error) }));
  process.exit(1);
}
setTimeout(() => fail(new Error('timed out after 20 s')), 20_000).unref();

const socket = dgram.createSocket('udp4');
socket.on('error', fail);

function send(text, address, port) {
  return new Promise((resolve) => {
    socket.send(text, port, address, (error) => {
      if (error) fail(error);
      console.log(JSON.stringify({ sent: text }));
      resolve();
    });
  });
}

let count = 0;
socket.on('message', async (msg, rinfo) => {
  count++;
  console.log(JSON.stringify({ received: msg.toString(), address: rinfo.address, port: rinfo.port }));
  if (mode === 'broadcast') {
    await send('from node', '127.255.255.255', ourPort);
    process.exit(0);
  } else if (count === 1) {
    // Linux delivers group datagrams to every socket bound to 0.0.0.0 on the port while any
    // socket on the host is a member (IP_MULTICAST_ALL), so Node leaves the group first:
    // what reaches the test now does so through the test's own membership.
    socket.dropMembership(GROUP, '127.0.0.1');
    await send('from node', GROUP, ourPort);
  } else {
    await send('after drop', GROUP, ourPort);
    await send('marker', '127.0.0.1', ourPort);
    process.exit(0);
  }
});

socket.bind(0, '0.0.0.0', () => {
  if (mode === 'broadcast') {
    socket.setBroadcast(true);
  } else {
    socket.addMembership(GROUP, '127.0.0.1');
    socket.setMulticastInterface('127.0.0.1');
    socket.setMulticastLoopback(true);
    socket.setMulticastTTL(1);
  }
  console.log(JSON.stringify({ port: socket.address().port }));
});
