import { describe, expect, it } from 'vitest';
import { fleetArgs, fleetKey, fleetOptionsFrom, parseEndpoints, parseFleetTtl, validateFleetName } from '../../../src/fleet/etcd/fleet-options.js';

describe('--etcd', () => {
  it.each([
    { text: 'http://127.0.0.1:2379', expect: ['http://127.0.0.1:2379'] },
    { text: 'http://10.0.0.1:2379, https://etcd-2:2379/', expect: ['http://10.0.0.1:2379', 'https://etcd-2:2379'] },
    { text: 'http://[::1]:2379', expect: ['http://[::1]:2379'] },
    { text: '127.0.0.1:2379', error: 'needs its scheme: write http://127.0.0.1:2379' },
    { text: 'ftp://h:2379', error: 'must be http://host:port' },
    { text: 'etcd', error: 'needs its scheme' },
    { text: 'http://', error: 'is not a URL' },
    { text: 'http://h:2379/v3', error: 'no path' },
    { text: 'http://user:pw@h:2379', error: 'GOTORCH_ETCD_PASSWORD' },
    { text: ' , ', error: 'at least one URL' },
  ])('$text', ({ text, expect: endpoints, error }) => {
    if (error) expect(() => parseEndpoints(text)).toThrow(error);
    else expect(parseEndpoints(text)).toEqual(endpoints);
  });
});

describe('--fleet and --fleet-ttl', () => {
  it.each([
    { name: 'default', ok: true },
    { name: 'prod-eu_1.a', ok: true },
    { name: 'a/b', ok: false },
    { name: '..', ok: false },
    { name: '', ok: false },
  ])('fleet "$name"', ({ name, ok }) => {
    if (ok) expect(validateFleetName(name)).toBe(name);
    else expect(() => validateFleetName(name)).toThrow('letters, digits and - _ .');
  });

  it.each([
    { text: '3s', ms: 3000 },
    { text: '1m', ms: 60_000 },
    { text: '1s', error: 'from 2s to 1h' },
    { text: '2500ms', error: 'whole seconds' },
    { text: '3', error: 'no unit' },
  ])('ttl $text', ({ text, ms, error }) => {
    if (error) expect(() => parseFleetTtl(text)).toThrow(error);
    else expect(parseFleetTtl(text)).toBe(ms);
  });
});

describe('the options together', () => {
  it('none without --etcd; TLS files or a TTL without it are a mistake that is said', () => {
    expect(fleetOptionsFrom({ fleet: 'x' })).toBeUndefined();
    expect(() => fleetOptionsFrom({ etcdCa: 'ca.pem' })).toThrow('--etcd-ca needs --etcd');
    expect(() => fleetOptionsFrom({ fleetTtl: 3000 })).toThrow('--fleet-ttl needs --etcd');
  });

  it('defaults, absolute TLS paths, and the arguments that pass them to the daemonized child', () => {
    const options = fleetOptionsFrom({ etcd: ['https://e:2379'], etcdCa: 'ca.pem', etcdCert: 'c.pem', etcdKey: 'k.pem' }, '/etc/gotorch');
    expect(options).toEqual({ endpoints: ['https://e:2379'], fleet: 'default', ttlMs: 10_000, tls: { ca: '/etc/gotorch/ca.pem', cert: '/etc/gotorch/c.pem', key: '/etc/gotorch/k.pem' } });
    expect(fleetArgs(options!)).toEqual(['--etcd', 'https://e:2379', '--fleet', 'default', '--fleet-ttl', '10s', '--etcd-ca', '/etc/gotorch/ca.pem', '--etcd-cert', '/etc/gotorch/c.pem', '--etcd-key', '/etc/gotorch/k.pem']);
    expect(() => fleetOptionsFrom({ etcd: ['http://e:2379'], etcdCert: 'c.pem' })).toThrow('go together');
    expect(() => fleetOptionsFrom({ etcd: ['http://e:2379'], etcdCert: 'c.pem', etcdKey: 'k.pem' })).toThrow('needs --etcd-ca');
  });

  it('keys', () => expect(fleetKey('prod', 'answers', 'id1', 'web-1')).toBe('gotorch/prod/answers/id1/web-1'));
});
