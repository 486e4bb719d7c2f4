/** Talks to a running daemon over its control socket (SPEC §4). */
import net from 'node:net';
import { socketPathProblem, type ControlRequest, type ControlResponse } from '../daemon/control-server.js';

export class NotRunningError extends Error {}

export function request(socketPath: string, body: ControlRequest, timeoutMs = 30_000): Promise<ControlResponse> {
  const problem = socketPathProblem(socketPath);
  if (problem !== undefined) return Promise.reject(new Error(problem));
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from the daemon within ${timeoutMs / 1000} s (socket ${socketPath})`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(body) + '\n'));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(new NotRunningError(`gotorch is not running (no daemon answers on ${socketPath})`));
      else if (error.code === 'EACCES' || error.code === 'EPERM') reject(new Error(`permission denied on the control socket ${socketPath}: the daemon runs as another user; run gotorch as that user`));
      else reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(answer) as ControlResponse);
      } catch {
        reject(new Error(`the daemon sent an unreadable answer: ${answer.slice(0, 200)}`));
      }
    });
  });
}
