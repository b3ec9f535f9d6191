// The reference the sensor is measured against: about the least a Node.js
// TELNET login decoy can do. It writes the opening options with the first
// prompt, a password prompt after each username line and `Login incorrect`
// with the next prompt after each password line, hangs up after 3, and
// records nothing. What the sensor spends above it is the cost of its TELNET
// codec, persona, limits and durable recording.
// Run as a child process by server-process.ts; prints the port like `telnetlogin run`.
import net from 'node:net';

const OPENING = Buffer.concat([Buffer.from([255, 253, 1, 255, 253, 31, 255, 251, 1, 255, 251, 3]), Buffer.from('\r\n(none) login: ')]);
const PASSWORD = Buffer.from('Password: ');
const FAILURE = Buffer.from('\r\nLogin incorrect\r\n');
const FAILURE_AND_PROMPT = Buffer.concat([FAILURE, Buffer.from('(none) login: ')]);
const LF = 10;
const MAX_ATTEMPTS = 3;

const server = net.createServer({ noDelay: true }, (socket) => {
  let lines = 0;
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      if (++lines % 2 === 1) socket.write(PASSWORD);
      else if (lines / 2 < MAX_ATTEMPTS) socket.write(FAILURE_AND_PROMPT);
      else return void socket.end(FAILURE);
    }
  });
  socket.write(OPENING);
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(`telnet: listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}\n`);
});
