/**
 * Issue 17: a job the keeper holds, taken over by this daemon after a crash or a handover. Its output is
 * what the keeper spooled while no daemon was attached, then the rest of its pipes (this daemon's copies
 * of the keeper's read ends); its exit status comes from the keeper, its parent (WATCH).
 */
import net from 'node:net';
import type { HeldRun, KeeperLink } from './keeper-link.js';
import { heldOutcome } from './keeper-link.js';
import { signalName } from './native-spawner.js';
import { procTable } from './process-table.js';
import { signalRun, stopReading, type ChildHandle, type OutputListener, type OutputStream, type SpawnOutcome } from './spawner.js';

/** How long an EXIT may take to come for a job already gone when this daemon took it over. */
const UNREAPED_GRACE_MS = 2000;
/** How often a taken-over job is looked for in /proc (in case no EXIT is ever coming). */
const GONE_CHECK_MS = 1000;

const STREAMS: readonly OutputStream[] = ['stdout', 'stderr'];

/** Reads `fd` (a pipe or a socket) to its end; resolves at the end or on an error. `streams` gets the socket (to pause it). */
function readToEnd(fd: number, onChunk: (chunk: Buffer) => void, streams: net.Socket[]): Promise<void> {
  if (fd < 0) return Promise.resolve();
  let stream: net.Socket;
  try {
    stream = new net.Socket({ fd, readable: true, writable: false });
  } catch {
    return Promise.resolve();
  }
  streams.push(stream);
  stream.on('data', onChunk);
  return new Promise((resolve) => {
    stream.on('close', () => resolve());
    stream.on('error', () => undefined);
  });
}

/**
 * `fds` are this daemon's descriptors for the entry's (moved by closeInheritedDescriptors, or -1).
 */
export function heldHandle(held: HeldRun, link: KeeperLink, fds: Readonly<Record<OutputStream, number>>): ChildHandle {
  let listener: OutputListener | undefined;
  let paused = false;
  const emit = (stream: OutputStream, chunk: Buffer): void => {
    if (!paused) listener?.(stream, chunk);
  };
  const sockets: Record<OutputStream, net.Socket[]> = { stdout: [], stderr: [] };
  const output = (async () => {
    await Promise.resolve(); // the run sets its listener right after taking the handle
    for (const stream of STREAMS) if (held.spooled[stream] > 0) emit(stream, await link.spool(held.id, stream).catch(() => Buffer.alloc(0)));
    if (paused) return;
    await Promise.all(STREAMS.map((stream) => readToEnd(fds[stream], (chunk) => emit(stream, chunk), sockets[stream])));
  })();
  const exit = new Promise<SpawnOutcome>((resolve) => {
    if (held.outcome !== null) return resolve(held.outcome);
    let gone: NodeJS.Timeout | undefined;
    const watch = setInterval(() => {
      // Gone and never reaped by the keeper (a daemon before this one reaped it: one that died before its DROP,
      // or child_process's in the moments of a handover; or the keeper itself is gone): nobody knows how it ended.
      if (gone !== undefined || procTable.stat(held.pid) !== undefined) return;
      gone = setTimeout(() => {
        clearInterval(watch);
        resolve({ exitCode: null, signal: null, error: link.alive ? 'exit status unknown: the job was reaped by a previous daemon' : 'exit status unknown: the job keeper that reaped it is gone' });
      }, UNREAPED_GRACE_MS);
    }, GONE_CHECK_MS);
    link.onExit(held.id, (status) => {
      clearInterval(watch);
      clearTimeout(gone);
      resolve(heldOutcome(status, signalName) ?? { exitCode: null, signal: null, error: `exit status unknown: the keeper said ${status}` });
    });
  });
  const outcome = Promise.all([exit, output]).then(([ended]) => ended);
  return {
    pid: held.pid,
    onOutput: (next) => {
      listener = next;
    },
    // A handover: what the sockets hold is delivered, then they stop reading (the next daemon has its own copies).
    pauseOutput: () => {
      for (const stream of STREAMS) {
        for (const socket of sockets[stream]) {
          stopReading(socket, (chunk) => listener?.(stream, chunk));
          socket.destroy();
        }
      }
      paused = true;
    },
    signalGroup: (signal) => signalRun(held.pid, held.id, signal),
    outcome,
    drain: () => undefined,
  };
}
