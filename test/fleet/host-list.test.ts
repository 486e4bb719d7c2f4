import { describe, expect, it } from 'vitest';
import { HostList, hostListErrors } from '../../src/fleet/host-list.js';
import { identityFromList, localIdentity } from '../../src/fleet/identity.js';

// SPEC §1.2: (no positive item, or one matches) and no `!` item matches.
const rows: { hosts: string; identity: string; applies: boolean }[] = [
  { hosts: '*', identity: 'anything', applies: true },
  { hosts: '10.0.1.5', identity: 'web-1,10.0.1.5', applies: true },
  { hosts: '10.0.1.5', identity: 'web-1,10.0.1.6', applies: false },
  { hosts: '10.0.1.0/24', identity: '10.0.1.255', applies: true },
  { hosts: '10.0.1.0/24', identity: '10.0.2.0', applies: false },
  { hosts: '10.0.1.128/25', identity: '10.0.1.127', applies: false },
  { hosts: '10.0.1.128/25', identity: '10.0.1.128', applies: true },
  { hosts: '0.0.0.0/0', identity: '192.0.2.1', applies: true },
  { hosts: '10.0.1.7/32', identity: '10.0.1.7', applies: true },
  { hosts: '::1', identity: '0:0:0:0:0:0:0:1', applies: true },
  { hosts: 'fd00::/64', identity: 'fd00::abcd:1', applies: true },
  { hosts: 'fd00::/64', identity: 'fd00:0:0:1::1', applies: false },
  { hosts: '2001:db8::1', identity: '2001:DB8:0::1', applies: true },
  { hosts: '10.0.0.1', identity: '::ffff:10.0.0.1', applies: true },
  { hosts: '::ffff:10.0.0.1', identity: '10.0.0.1', applies: true },
  { hosts: '10.0.0.0/8', identity: '::ffff:10.9.9.9', applies: true },
  { hosts: 'fe80::1', identity: 'fe80::1%eth0', applies: true },
  { hosts: 'web-*', identity: 'web-12', applies: true },
  { hosts: 'web-*', identity: 'WEB-3.example.com', applies: true },
  { hosts: 'web-?', identity: 'web-12', applies: false },
  { hosts: 'web-[12]', identity: 'web-2', applies: true },
  { hosts: 'web-[12]', identity: 'web-3', applies: false },
  { hosts: 'web-*.example.com', identity: 'web-1.example.com', applies: true },
  { hosts: 'web-*,!web-3', identity: 'web-3', applies: false },
  { hosts: 'web-*,!web-3', identity: 'web-4', applies: true },
  { hosts: '!web-3', identity: 'db-1', applies: true },
  { hosts: '!10.0.0.0/8', identity: 'db-1,10.1.1.1', applies: false },
  { hosts: 'db-1,db-2', identity: 'db-2', applies: true },
  { hosts: 'db-1,10.0.0.0/8', identity: 'cache,10.3.3.3', applies: true },
  { hosts: 'web-*', identity: '10.0.1.5', applies: false },
];

describe('host lists (SPEC §1.2)', () => {
  it.each(rows)('$hosts applies to $identity: $applies', ({ hosts, identity, applies }) => {
    expect(hostListErrors(hosts)).toEqual([]);
    expect(new HostList(hosts.split(',')).appliesTo(identityFromList(identity))).toBe(applies);
  });

  it('this machine is every address of every interface plus its host name', () => {
    const identity = localIdentity();
    expect(new HostList(['127.0.0.1']).appliesTo(identity)).toBe(true);
    expect(identity.names.length).toBeGreaterThan(0);
    expect(new HostList([identity.names[0]]).appliesTo(identity)).toBe(true);
  });
});
