/** IP addresses as 128-bit integers: IPv4 lives in the IPv4-mapped range so `::ffff:10.0.0.1` equals `10.0.0.1`. */
import net from 'node:net';

const MAPPED_PREFIX = 0xffffn << 32n;

export interface Address {
  readonly value: bigint;
  /** 4 for IPv4 and IPv4-mapped IPv6, else 6. */
  readonly family: 4 | 6;
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((sum, part) => (sum << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(text: string): bigint {
  let body = text;
  let tail: bigint[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    const v4 = ipv4Value(body.slice(lastColon + 1));
    tail = [v4 >> 16n, v4 & 0xffffn];
    body = body.slice(0, lastColon + 1) + '0';
  }
  const [head, rest] = body.split('::');
  const parse = (part: string | undefined): bigint[] => (part ? part.split(':').filter((group) => group !== '').map((group) => BigInt(parseInt(group, 16))) : []);
  const left = parse(head);
  const right = parse(rest);
  if (tail.length > 0) (rest === undefined ? left : right).splice(-1, 1, ...tail);
  const groups = rest === undefined ? left : [...left, ...new Array<bigint>(8 - left.length - right.length).fill(0n), ...right];
  return groups.reduce((sum, group) => (sum << 16n) | group, 0n);
}

/** Parses an IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is ignored); undefined when not an address. */
export function parseAddress(text: string): Address | undefined {
  const bare = text.replace(/%.*$/, '');
  const kind = net.isIP(bare);
  if (kind === 4) return { value: MAPPED_PREFIX | ipv4Value(bare), family: 4 };
  if (kind !== 6) return undefined;
  const value = ipv6Value(bare);
  return { value, family: value >> 32n === 0xffffn ? 4 : 6 };
}

/** A CIDR block: the address with the host bits cleared and a 128-bit mask. */
export interface Block {
  readonly network: bigint;
  readonly mask: bigint;
}

export function blockOf(address: Address, prefix: number): Block {
  const bits = address.family === 4 && address.value >> 32n === 0xffffn ? 96 + prefix : prefix;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
  return { network: address.value & mask, mask };
}

export function blockContains(block: Block, address: Address): boolean {
  return (address.value & block.mask) === block.network;
}
