// A client of the job keeper's line protocol (README "Job keeper"): used by the fake daemon and the tests.
import net from 'node:net';
import { once } from 'node:events';

export async function connectKeeper(socketPath) {
  const socket = net.createConnection(socketPath);
  await once(socket, 'connect');
  let buffer = Buffer.alloc(0);
  const waiters = [];
  const pump = () => {
    while (waiters.length > 0) {
      const value = waiters[0].take();
      if (value === null) return;
      waiters.shift().resolve(value);
    }
  };
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    pump();
  });
  const takeLine = () => {
    const end = buffer.indexOf(10);
    if (end < 0) return null;
    const line = buffer.subarray(0, end).toString();
    buffer = buffer.subarray(end + 1);
    return line;
  };
  const takeBytes = (count) => () => {
    if (buffer.length < count) return null;
    const bytes = Buffer.from(buffer.subarray(0, count));
    buffer = buffer.subarray(count);
    return bytes;
  };
  const next = (take) => new Promise((resolve) => { waiters.push({ take, resolve }); pump(); });
  const ask = (line) => { socket.write(`${line}\n`); return next(takeLine); };
  // One exchange at a time: a SPOOL's raw bytes must not be taken for the answer to a later request.
  let queue = Promise.resolve();
  const serial = (exchange) => (...args) => {
    const done = queue.then(() => exchange(...args));
    queue = done.catch(() => undefined);
    return done;
  };

  /** Entries as LIST reports them. */
  async function listRuns() {
    socket.write('LIST\n');
    const runs = [];
    for (;;) {
      const line = await next(takeLine);
      if (line.startsWith('OK')) return runs;
      const [word, id, pid, fdOut, fdErr, status, spooledOut, spooledErr, dropped, tag] = line.split(' ');
      if (word !== 'RUN') throw new Error(`LIST answered ${line}`);
      runs.push({ id, pid: Number(pid), fds: [Number(fdOut), Number(fdErr)], status, spooled: [Number(spooledOut), Number(spooledErr)], dropped: Number(dropped), tag });
    }
  }

  /** The spooled bytes of one stream (the keeper empties its spool). */
  async function spoolBytes(id, stream) {
    const head = await ask(`SPOOL ${id} ${stream}`);
    const match = /^OK (\d+)$/.exec(head);
    if (!match) throw new Error(`SPOOL answered ${head}`);
    return next(takeBytes(Number(match[1])));
  }

  /** WATCH on this connection (use it for nothing else): the first EXIT line that comes. */
  const watchOne = () => ask('WATCH');

  /** A line no answer comes for (HOLD and DROP after QUIET). */
  const send = (line) => socket.write(`${line}\n`);
  return { request: serial(ask), send, list: serial(listRuns), spool: serial(spoolBytes), watchOne, close: () => socket.end() };
}
