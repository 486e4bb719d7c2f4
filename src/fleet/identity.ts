/** This host's identity (SPEC §1.2): every address of every interface plus its host name, or an override. */
import os from 'node:os';
import { parseAddress, type Address } from './address.js';
import type { HostIdentity } from './host-list.js';

const listItems = (list: string): string[] => list.split(',').map((part) => part.trim()).filter(Boolean);

/** Builds an identity from a comma list of names and addresses (`--host-id`, `GOTORCH_HOST`). */
export function identityFromList(list: string): HostIdentity {
  const names: string[] = [];
  const addresses: Address[] = [];
  for (const item of listItems(list)) {
    const address = parseAddress(item);
    if (address) addresses.push(address);
    else names.push(...nameForms(item));
  }
  return { names, addresses };
}

function nameForms(name: string): string[] {
  const lower = name.toLowerCase();
  const short = lower.split('.')[0];
  return short === lower ? [lower] : [lower, short];
}

/** The machine's own identity: os.networkInterfaces() (0.1 ms; systeminformation's takes ~75 ms) and os.hostname(). */
export function localIdentity(): HostIdentity {
  const addresses: Address[] = [];
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      const address = parseAddress(entry.address);
      if (address) addresses.push(address);
    }
  }
  return { names: nameForms(os.hostname()), addresses };
}

/**
 * This host's name as SPEC §8 `jitter=` hashes it and hook documents name it: the machine's host
 * name, or for a `--host-id` / `GOTORCH_HOST` list its first name item, else its first item (a list
 * of addresses only). Lower case, as host names compare; one answer for the daemon, check and the
 * fleet view alike.
 */
export function hostName(override: string | undefined): string {
  if (!override) return nameForms(os.hostname())[0];
  const items = listItems(override);
  return (items.find((item) => parseAddress(item) === undefined) ?? items[0] ?? '').toLowerCase();
}

/** This host's addresses as text, for the fleet registry (SPEC §10): the override's address items, or every interface's. */
export function hostAddresses(override: string | undefined): string[] {
  if (override) return listItems(override).filter((item) => parseAddress(item) !== undefined);
  return Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

export function resolveIdentity(override: string | undefined): HostIdentity {
  return override ? identityFromList(override) : localIdentity();
}

export function describeIdentity(identity: HostIdentity, override: string | undefined): string {
  return override ?? `${identity.names[0] ?? 'localhost'} (${identity.addresses.length} addresses)`;
}
