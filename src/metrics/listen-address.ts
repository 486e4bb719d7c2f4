/**
 * SPEC §9 `start --metrics [host:]port` (or GOTORCH_METRICS): where the metrics server listens. Validated
 * here, beside the feature, without loading it: a bad value is a usage error before anything starts.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** SPEC §9: loopback unless a host is given, so a plain `--metrics 9100` is not open to the network. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export interface ListenAddress {
  /** An IPv4 or IPv6 address (without brackets) or a host name. */
  readonly host: string;
  readonly port: number;
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65_535) {
    throw new Error(`The port must be a number from 1 to 65535 (e.g. 9100, or 127.0.0.1:9100).`);
  }
  return Number(text);
}

/** `9100`, `10.0.0.5:9100`, `localhost:9100`, `[::1]:9100`; throws an Error that says what to write instead. */
export function parseListenAddress(value: string): ListenAddress {
  const text = value.trim();
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const host = close > 0 ? text.slice(1, close) : '';
    if (!isIPv6(host) || text[close + 1] !== ':') throw new Error('Write an IPv6 address in brackets, then its port: [::1]:9100.');
    return { host, port: parsePort(text.slice(close + 2)) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: DEFAULT_METRICS_HOST, port: parsePort(text) };
  const host = text.slice(0, colon);
  if (host === '') throw new Error(`The host is empty: write 9100 for ${DEFAULT_METRICS_HOST}:9100, or 0.0.0.0:9100 to listen on every IPv4 address.`);
  if (host.includes(':')) throw new Error(`Write an IPv6 address in brackets, then its port: [${host}]:9100.`);
  // Digits and dots only read as an IPv4 address, so 10.0.0.300 is a typo, not a host name.
  const valid = /^[\d.]+$/.test(host) ? isIPv4(host) : HOST_NAME.test(host);
  if (!valid) throw new Error(`"${host}" is neither an IP address nor a host name (e.g. 127.0.0.1:9100, [::1]:9100, localhost:9100).`);
  return { host, port: parsePort(text.slice(colon + 1)) };
}

/** The form parseListenAddress reads back (what `start` passes to its daemonized child). */
export function formatListenAddress(address: ListenAddress): string {
  return isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
