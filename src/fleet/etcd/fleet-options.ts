/**
 * SPEC §10 options, validated where they are given (the command line), before any etcd code loads:
 * `--etcd <urls>`, `--etcd-ca/--etcd-cert/--etcd-key`, `--fleet <name>`, `--fleet-ttl <duration>`.
 * User and password come from the environment only (never from the shared task file or argv).
 */
import path from 'node:path';
import { parseDuration } from '../../schedule/duration.js';

export const DEFAULT_FLEET = 'default';
/** SPEC §10: the host lease's TTL. */
export const DEFAULT_TTL_MS = 10_000;

export interface FleetTls {
  /** Absolute paths: the daemon runs in `/`. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface FleetOptions {
  readonly endpoints: readonly string[];
  readonly fleet: string;
  /** Whole seconds (etcd's lease TTL unit), in ms. */
  readonly ttlMs: number;
  readonly tls: FleetTls;
}

/** `http://10.0.0.1:2379,https://etcd-2:2379`: every item an http(s) URL with a host; throws saying what to write. */
export function parseEndpoints(text: string): string[] {
  const items = text.split(',').map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new Error('--etcd needs at least one URL, e.g. --etcd http://127.0.0.1:2379');
  return items.map((item) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(item)) throw new Error(`--etcd: "${item}" needs its scheme: write http://${item} (or https:// for TLS)`);
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new Error(`--etcd: "${item}" is not a URL: write e.g. http://127.0.0.1:2379 (comma-separated for several)`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
      throw new Error(`--etcd: "${item}" must be http://host:port or https://host:port (no path)`);
    }
    if (url.username !== '' || url.password !== '') throw new Error('--etcd: put no user or password in the URL: set GOTORCH_ETCD_USER and GOTORCH_ETCD_PASSWORD');
    return `${url.protocol}//${url.host}`;
  });
}

/** SPEC §10 `--fleet`: it becomes a key segment, so letters, digits and `-_.` only. */
export function validateFleetName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new Error(`--fleet "${name}": use letters, digits and - _ . only (e.g. --fleet prod-eu)`);
  }
  return name;
}

/** `--fleet-ttl 3s`: whole seconds, at least 2 (a keep-alive every TTL/3 needs room), at most 1h. */
export function parseFleetTtl(text: string): number {
  const parsed = parseDuration(text, '3s, 10s, 1m');
  if (!parsed.ok) throw new Error(`--fleet-ttl: ${parsed.message}`);
  if (parsed.ms % 1000 !== 0 || parsed.ms < 2000 || parsed.ms > 3_600_000) throw new Error(`--fleet-ttl "${text}": write whole seconds from 2s to 1h (etcd leases count in seconds)`);
  return parsed.ms;
}

/** The TLS files as absolute paths; a client certificate needs its key and the CA that signs the server's. */
export function resolveTls(tls: { etcdCa?: string; etcdCert?: string; etcdKey?: string }, cwd = process.cwd()): FleetTls {
  if ((tls.etcdCert === undefined) !== (tls.etcdKey === undefined)) throw new Error('--etcd-cert and --etcd-key go together: give both, or neither');
  if (tls.etcdCert !== undefined && tls.etcdCa === undefined) throw new Error('--etcd-cert needs --etcd-ca (the CA that signed the etcd server certificate)');
  const absolute = (file: string | undefined): string | undefined => (file === undefined ? undefined : path.resolve(cwd, file));
  return { ca: absolute(tls.etcdCa), cert: absolute(tls.etcdCert), key: absolute(tls.etcdKey) };
}

/** The arguments that pass the options on to the daemonized child (SPEC §4 start). */
export function fleetArgs(options: FleetOptions): string[] {
  const { tls } = options;
  return [
    '--etcd', options.endpoints.join(','),
    '--fleet', options.fleet,
    '--fleet-ttl', `${options.ttlMs / 1000}s`,
    ...(tls.ca ? ['--etcd-ca', tls.ca] : []),
    ...(tls.cert ? ['--etcd-cert', tls.cert] : []),
    ...(tls.key ? ['--etcd-key', tls.key] : []),
  ];
}

/** SPEC §10 keys: `gotorch/<fleet>/<parts…>` (hosts/<host>, commands/<id>, answers/<id>/<host>). */
export function fleetKey(fleet: string, ...parts: string[]): string {
  return ['gotorch', fleet, ...parts].join('/');
}

/** The options as the command line parsed them (commander's camel case). */
export interface GivenFleetOptions {
  readonly etcd?: readonly string[];
  readonly etcdCa?: string;
  readonly etcdCert?: string;
  readonly etcdKey?: string;
  readonly fleet?: string;
  readonly fleetTtl?: number;
}

/** The fleet options, or undefined without `--etcd`; TLS files without `--etcd` are a mistake that is said. */
export function fleetOptionsFrom(given: GivenFleetOptions, cwd = process.cwd()): FleetOptions | undefined {
  if (given.etcd === undefined) {
    const stray = (['etcdCa', 'etcdCert', 'etcdKey', 'fleetTtl'] as const).find((option) => given[option] !== undefined);
    if (stray !== undefined) throw new Error(`--${stray.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)} needs --etcd <urls> (or GOTORCH_ETCD)`);
    return undefined;
  }
  return Object.freeze({ endpoints: given.etcd, fleet: given.fleet ?? DEFAULT_FLEET, ttlMs: given.fleetTtl ?? DEFAULT_TTL_MS, tls: Object.freeze(resolveTls(given, cwd)) });
}

/** `fleet kill/run --timeout`: how long the command waits for the hosts' answers (1s to 10m). */
export function parseAnswerTimeout(text: string): number {
  const parsed = parseDuration(text, '5s, 10s, 1m');
  if (!parsed.ok) throw new Error(`--timeout: ${parsed.message}`);
  if (parsed.ms < 1000 || parsed.ms > 600_000) throw new Error(`--timeout "${text}": write 1s to 10m`);
  return parsed.ms;
}
