/**
 * The daemon's side of the keeper protocol against a keeper of each generation: one that knows QUIET
 * (HOLD and DROP unanswered) and one older than it (an upgrade keeps the running keeper), which answers
 * QUIET with ERR and every HOLD and DROP with OK. Each answer names its request, so an answer read for the
 * wrong request shows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeeperLink } from '../../src/supervisor/keeper-link.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A keeper speaking the line protocol; `knowsQuiet` false: the keeper before QUIET. Records every line. */
async function fakeKeeper(knowsQuiet: boolean): Promise<{ socket: string; lines: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-link-'));
  const socket = path.join(dir, 'keeper.sock');
  const lines: string[] = [];
  const connections: net.Socket[] = [];
  const server = net.createServer((connection) => {
    connections.push(connection);
    let quiet = false;
    let buffered = '';
    connection.on('data', (chunk) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        lines.push(line);
        const [command] = line.split(' ');
        if (command === 'QUIET') {
          quiet = knowsQuiet;
          connection.write(knowsQuiet ? 'OK\n' : 'ERR unknown command QUIET (HOLD, DROP, LIST, SPOOL, START, WATCH, READY, BYE)\n');
        } else if (command === 'HOLD' || command === 'DROP') {
          if (!quiet) connection.write(`OK ${command.toLowerCase()}\n`);
        } else if (command !== 'WATCH') connection.write(`OK ${command.toLowerCase()}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  cleanups.push(async () => {
    for (const connection of connections) connection.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  return { socket, lines };
}

const FACTS = { task: 't', trigger: 'schedule', attempt: 0, scheduledAt: 1, jitterS: 0, startedAt: 1000, role: 'cron', graceMs: 1000 } as const;

describe('KeeperLink (issue 16: HOLD and DROP unanswered where the keeper knows QUIET)', () => {
  for (const knowsQuiet of [true, false]) {
    it(`${knowsQuiet ? 'a keeper that knows QUIET' : 'a keeper older than QUIET'}: each answer is read for its own request`, async () => {
      const keeper = await fakeKeeper(knowsQuiet);
      const link = (await KeeperLink.fromEnvironment({ GOTORCH_KEEPER_SOCKET: keeper.socket, GOTORCH_KEEPER_PID: '1' })) as KeeperLink;
      cleanups.push(() => link.close());
      for (let index = 0; index < 50; index++) {
        link.hold(`run${index}`, 1000 + index, { stdout: 10, stderr: 11 }, FACTS);
        if (index % 2 === 1) link.drop(`run${index - 1}`);
      }
      expect(await link.ready()).toBe('OK ready');
      link.drop('run49');
      expect(await link.start(['node', 'main.js'])).toEqual({ error: 'OK start' });
      expect(keeper.lines.filter((line) => line.startsWith('HOLD '))).toHaveLength(50);
      expect(keeper.lines.filter((line) => line.startsWith('DROP '))).toHaveLength(26);
      // In order: QUIET (on the request connection, once), then the HOLDs and DROPs as sent, READY after them.
      const requests = keeper.lines.filter((line) => line !== 'WATCH');
      expect(requests[0]).toBe('QUIET');
      expect(requests.indexOf('READY')).toBe(1 + 50 + 25);
      expect(requests.slice(1, 4).map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(['HOLD run0', 'HOLD run1', 'DROP run0']);
    });
  }
});
