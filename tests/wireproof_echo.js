// The echo server of tests/wireproof_mutant.py, written in Node.js: greets
// with "hello\n", echoes what it reads, closes once the client has.
// node tests/wireproof_echo.js PORT
"use strict";
const net = require("net");

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  socket.on("error", () => socket.destroy());
  socket.on("end", () => socket.end());
  socket.write("hello\n");
  socket.pipe(socket, { end: false });
});
server.listen(Number(process.argv[2]), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
