// A stand-in daemon for the keeper tests: `node fake-daemon.mjs SCENARIO DIR`, started (and restarted) by the
// keeper. Each start appends its pid to DIR/starts; what it saw goes to files in DIR for the test to check.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, openSync, readFileSync, writeFileSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connectKeeper } from './keeper-client.mjs';

const [scenario, dir] = process.argv.slice(2);
const file = (name) => path.join(dir, name);
appendFileSync(file('starts'), `${process.pid}\n`);
const start = readFileSync(file('starts'), 'utf8').trim().split('\n').length;
const stayAlive = () => setInterval(() => {}, 1000);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns the jobs, hands their output fds to the keeper and logs what it reads itself to DIR/first-ID.STREAM.
 * child_process's stdio is a socketpair; a job with `fifo` writes its stdout to a named pipe instead (a pipe
 * as the native spawner makes, which the keeper reopens through /proc), which this process does not read.
 */
async function spawnAndHold(keeper, jobs) {
  const pids = {};
  for (const { id, script, fifo } of jobs) {
    let stdoutFd;
    if (fifo) {
      execFileSync('mkfifo', [file(`${id}.fifo`)]);
      stdoutFd = openSync(file(`${id}.fifo`), constants.O_RDONLY | constants.O_NONBLOCK);
    }
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', fifo ? 'ignore' : 'pipe', 'pipe'], cwd: dir });
    if (!fifo) {
      stdoutFd = child.stdout._handle.fd;
      child.stdout.on('data', (chunk) => appendFileSync(file(`first-${id}.out`), chunk));
    }
    child.stderr.on('data', (chunk) => appendFileSync(file(`first-${id}.err`), chunk));
    const answer = await keeper.request(`HOLD ${id} ${child.pid} ${stdoutFd} ${child.stderr._handle.fd}`);
    if (answer !== 'OK') throw new Error(`HOLD answered ${answer}`);
    pids[id] = child.pid;
  }
  writeFileSync(file('held.json'), JSON.stringify({ daemon: process.pid, jobs: pids }));
}

/** This process's copy of a keeper's fd: a pipe reopened through /proc, a socket inherited at the same number. */
function ownCopy(fd) {
  try {
    return openSync(`/proc/${process.env.GOTORCH_KEEPER_PID}/fd/${fd}`, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (error.code !== 'ENXIO') throw error;
    return fd;
  }
}

/** Reads one of the keeper's fds until EOF. */
function readToEnd(fd) {
  if (fd < 0) return Promise.resolve(Buffer.alloc(0));
  const stream = new net.Socket({ fd: ownCopy(fd), readable: true, writable: false });
  const chunks = [];
  stream.on('data', (chunk) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** The restarted daemon: adopts every held job, its spool and the rest of its output, and its exit status. */
async function adopt(keeper) {
  const runs = await keeper.list();
  const adopted = await Promise.all(runs.map(async (run) => {
    const spooled = [await keeper.spool(run.id, 'stdout'), await keeper.spool(run.id, 'stderr')];
    const rest = await Promise.all(run.fds.map(readToEnd));
    return { id: run.id, listed: run, stdout: Buffer.concat([spooled[0], rest[0]]).toString(), stderr: Buffer.concat([spooled[1], rest[1]]).toString() };
  }));
  let final = await keeper.list();
  while (final.some((run) => run.status === 'running')) {
    await pause(100);
    final = await keeper.list();
  }
  for (const run of adopted) run.status = final.find((entry) => entry.id === run.id).status;
  for (const run of adopted) await keeper.request(`DROP ${run.id}`);
  writeFileSync(file('result.json'), JSON.stringify(adopted));
}

const chattyJob = (k) => ({
  id: `job${k}`,
  script: `for i in $(seq 1 60); do echo "job${k} out $i"; echo "job${k} err $i" >&2; sleep 0.1; done; exit ${10 + k}`,
});

if (scenario === 'chatty' && start === 1) {
  await spawnAndHold(await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET), [1, 2, 3, 4, 5].map(chattyJob));
  stayAlive();
} else if (scenario === 'chatty') {
  const keeper = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  await adopt(keeper);
  await keeper.request('BYE');
  process.exit(0);
} else if (scenario === 'spool' && start === 1) {
  const script = `exec >big.fifo; while [ ! -e go ]; do sleep 0.05; done; head -c 300000 /dev/zero | tr '\\0' x; exit 3`;
  await spawnAndHold(await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET), [{ id: 'big', script, fifo: true }]);
  stayAlive();
} else if (scenario === 'bye') {
  const keeper = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  writeFileSync(file('result.json'), JSON.stringify({ drop: await keeper.request('DROP nothing-held') }));
  await keeper.request('BYE');
  process.exit(0);
} else if (scenario === 'quiet-bye') {
  // QUIET: HOLD and DROP get no answer (a refusal goes to the keeper's log), so READY's OK is the next line;
  // then BYE, and a signal kills this daemon in its last moments: the keeper must not start it again.
  const keeper = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  const quiet = await keeper.request('QUIET');
  keeper.send('DROP nothing-held');
  keeper.send('HOLD malformed');
  const ready = await keeper.request('READY');
  await keeper.request('BYE');
  writeFileSync(file('result.json'), JSON.stringify({ quiet, ready }));
  process.kill(process.pid, 'SIGUSR2');
} else if (scenario === 'many') {
  // More jobs than the keeper's first table (512): every HOLD is kept (the table grows), LIST shows each, DROP frees each.
  const keeper = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  await keeper.request('READY');
  const fd = openSync('/dev/null', constants.O_RDONLY);
  const answers = new Set();
  for (let index = 0; index < 600; index++) answers.add(await keeper.request(`HOLD many-${index} ${process.pid} ${fd} -1 tag-${index}`));
  const listed = await keeper.list();
  for (let index = 0; index < 600; index++) answers.add(await keeper.request(`DROP many-${index}`));
  const after = await keeper.list();
  await keeper.request('BYE');
  writeFileSync(file('result.json'), JSON.stringify({ answers: [...answers], held: listed.length, ids: new Set(listed.map((entry) => entry.id)).size, lastTag: listed.find((entry) => entry.id === 'many-599')?.tag, after: after.length }));
  process.exit(0);
} else if (scenario === 'crash') {
  // Ready, then failing: the keeper restarts it with a back-off (a start that never was ready is not restarted).
  await (await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET)).request('READY');
  process.exit(1);
} else if (scenario === 'never-ready') {
  process.exit(3);
} else if (scenario === 'handover' && start === 1) {
  // The first daemon holds a job, watches for exits, and starts its successor with a new argv (START).
  const keeper = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  await keeper.request('READY');
  await spawnAndHold(keeper, [{ id: 'short', script: 'sleep 0.5; exit 7' }]);
  const next = await keeper.request(`START ${[process.execPath, process.argv[1], 'successor', dir].join('\t')}`);
  writeFileSync(file('start-answer'), next);
  await keeper.request('BYE');
  process.exit(0);
} else if (scenario === 'handover-fails' && start === 1) {
  // The successor exits before it is ready while this daemon runs on: the keeper restarts nothing.
  const keeper = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  await keeper.request('READY');
  writeFileSync(file('start-answer'), await keeper.request(`START ${[process.execPath, process.argv[1], 'never-ready', dir].join('\t')}`));
  stayAlive();
} else if (scenario === 'successor') {
  // Started by START: waits until its predecessor is gone, then the held job's exit through WATCH.
  const keeper = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  await keeper.request('READY');
  const watch = await connectKeeper(process.env.GOTORCH_KEEPER_SOCKET);
  const exit = await watch.watchOne();
  writeFileSync(file('exit-line'), exit);
  await keeper.request('DROP short');
  await keeper.request('BYE');
  process.exit(0);
} else {
  stayAlive(); // an idle daemon that never connects: the keeper keeps draining
}
