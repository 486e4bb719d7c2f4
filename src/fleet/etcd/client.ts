/**
 * The etcd3 client for the daemon and the `fleet` commands alike. etcd3 (and gRPC under it) is imported
 * here only, and only once `--etcd` was given (STYLE: optional engines load lazily).
 */
import { readFile } from 'node:fs/promises';
import type { Etcd3, IOptions } from 'etcd3';
import type { FleetOptions } from './fleet-options.js';

/** Every unary call gives up after this: a hung etcd (SIGSTOP) becomes a failed call, never a wait without end. */
export const CALL_DEADLINE_MS = 5000;
const RECONNECT_MAX_MS = 3000;
/** The back-off of lease grants (connection.ts) and watches: 0.5 s doubling to 5 s. */
export const RETRY_FIRST_MS = 500;
export const RETRY_MAX_MS = 5000;

type Policy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** A cockatiel policy that only calls through (etcd3 uses nothing but execute()). */
const PASS_THROUGH = {
  execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> => fn({ signal: new AbortController().signal }),
} as unknown as Policy;

type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** The watches' reconnect delay (etcd3's default grows to 30 s: fleet commands would go unseen that long after an outage): 0.5 s doubling to 5 s. */
function watchBackoff(durationMs: number): Backoff {
  return { duration: durationMs, next: () => watchBackoff(Math.min(RETRY_MAX_MS, durationMs * 2)) } as unknown as Backoff;
}

async function readTlsFile(file: string, option: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new Error(`${option} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

/** Reads the TLS files (a missing one is an error naming it) and builds the client; connects lazily. */
export async function openClient(options: FleetOptions, env: NodeJS.ProcessEnv = process.env): Promise<Etcd3> {
  const { tls } = options;
  const config: IOptions = {
    hosts: [...options.endpoints],
    dialTimeout: CALL_DEADLINE_MS,
    // gRPC's own reconnect back-off grows to 2 minutes: a restarted etcd would wait that long to be seen again.
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_MS },
    // etcd3's circuit breaker refuses every call for 5 s after 3 failures, and its retries multiply a hung
    // etcd's deadline: the connection's own back-off (connection.ts) is the one policy. Several endpoints keep the retry, which picks another one.
    faultHandling: { host: () => PASS_THROUGH, ...(options.endpoints.length === 1 ? { global: PASS_THROUGH } : {}), watchBackoff: watchBackoff(RETRY_FIRST_MS) },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
  };
  if (tls.ca !== undefined) {
    config.credentials = {
      rootCertificate: await readTlsFile(tls.ca, '--etcd-ca'),
      ...(tls.cert !== undefined && tls.key !== undefined ? { certChain: await readTlsFile(tls.cert, '--etcd-cert'), privateKey: await readTlsFile(tls.key, '--etcd-key') } : {}),
    };
  }
  const user = env.GOTORCH_ETCD_USER;
  const password = env.GOTORCH_ETCD_PASSWORD;
  if ((user === undefined) !== (password === undefined)) throw new Error('GOTORCH_ETCD_USER and GOTORCH_ETCD_PASSWORD go together: set both, or neither');
  if (user !== undefined && password !== undefined) config.auth = { username: user, password };
  const { Etcd3: Client } = await import('etcd3');
  return new Client(config);
}
