/**
 * The hosts column (SPEC §1.2): `*`, or a comma list of addresses, CIDR blocks and host-name globs,
 * each optionally prefixed `!` to exclude. Validation here; matching against this host's identity too.
 */
import { blockContains, blockOf, parseAddress, type Address, type Block } from './address.js';

export interface HostIdentity {
  /** Host names, lower-cased: the short and the full name. */
  readonly names: readonly string[];
  readonly addresses: readonly Address[];
}

type Pattern =
  | { readonly kind: 'address'; readonly address: Address }
  | { readonly kind: 'block'; readonly block: Block }
  | { readonly kind: 'glob'; readonly regex: RegExp };

interface Item {
  readonly exclude: boolean;
  readonly pattern: Pattern;
}

const GLOB = /^[A-Za-z0-9*?[\]._-]+$/;

function globRegex(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i');
}

function parseItem(text: string): Pattern | string {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const address = parseAddress(text.slice(0, slash));
    const prefixText = text.slice(slash + 1);
    const limit = address?.family === 6 ? 128 : 32;
    if (!address) return `"${text.slice(0, slash)}" is not an IP address: write a CIDR block such as 10.0.1.0/24 or fd00::/64`;
    if (!/^\d+$/.test(prefixText) || Number(prefixText) > limit) return `prefix "/${prefixText}" must be a number from 0 to ${limit}`;
    return { kind: 'block', block: blockOf(address, Number(prefixText)) };
  }
  const address = parseAddress(text);
  if (address) return { kind: 'address', address };
  if (/^[\d.]+$/.test(text)) return `"${text}" is not a valid IPv4 address`;
  if (!GLOB.test(text)) return `"${text}" is not an address, CIDR block or host-name glob (letters, digits, . - _ * ? [ ])`;
  if (text.includes('[') && !/\[[^\]]+\]/.test(text)) return `unclosed "[" in host glob "${text}"`;
  return { kind: 'glob', regex: globRegex(text) };
}

function splitItems(text: string): { text: string; offset: number }[] {
  const items: { text: string; offset: number }[] = [];
  let offset = 0;
  for (const part of text.split(',')) {
    items.push({ text: part, offset });
    offset += part.length + 1;
  }
  return items;
}

/** More items than this is pasted garbage or a job for a CIDR block, not a host list. */
export const MAX_HOST_ITEMS = 4096;

export function hostListErrors(text: string): { offset: number; message: string }[] {
  if (text === '*') return [];
  let items = 1;
  for (let at = text.indexOf(','); at >= 0 && items <= MAX_HOST_ITEMS; at = text.indexOf(',', at + 1)) items++;
  if (items > MAX_HOST_ITEMS) return [{ offset: 0, message: `more than ${MAX_HOST_ITEMS} host items: use a CIDR block or a host-name glob` }];
  const errors: { offset: number; message: string }[] = [];
  for (const item of splitItems(text)) {
    const exclude = item.text.startsWith('!');
    const body = exclude ? item.text.slice(1) : item.text;
    if (body === '') {
      errors.push({ offset: item.offset, message: 'empty host item: remove the extra comma or write a host after "!"' });
      continue;
    }
    const pattern = parseItem(body);
    if (typeof pattern === 'string') errors.push({ offset: item.offset + (exclude ? 1 : 0), message: pattern });
  }
  return errors;
}

export class HostList {
  private readonly items: readonly Item[];
  private readonly everyHost: boolean;

  /** `hosts` must have passed hostListErrors. */
  constructor(hosts: readonly string[]) {
    this.everyHost = hosts.length === 1 && hosts[0] === '*';
    this.items = this.everyHost
      ? []
      : hosts.map((text) => {
          const exclude = text.startsWith('!');
          return { exclude, pattern: parseItem(exclude ? text.slice(1) : text) as Pattern };
        });
  }

  /** SPEC §1.2: (no positive item, or one matches) and no `!` item matches. */
  appliesTo(identity: HostIdentity): boolean {
    if (this.everyHost) return true;
    let positives = 0;
    let matched = false;
    for (const item of this.items) {
      const hit = patternMatches(item.pattern, identity);
      if (item.exclude && hit) return false;
      if (!item.exclude) {
        positives++;
        matched ||= hit;
      }
    }
    return positives === 0 || matched;
  }
}

function patternMatches(pattern: Pattern, identity: HostIdentity): boolean {
  switch (pattern.kind) {
    case 'address':
      return identity.addresses.some((address) => address.value === pattern.address.value);
    case 'block':
      return identity.addresses.some((address) => blockContains(pattern.block, address));
    case 'glob':
      return identity.names.some((name) => pattern.regex.test(name));
  }
}

/** The tasks whose hosts column includes this host (SPEC §1.2). */
export function applicableTasks<T extends { readonly hosts: readonly string[] }>(tasks: readonly T[], identity: HostIdentity): T[] {
  return tasks.filter((task) => new HostList(task.hosts).appliesTo(identity));
}
