/** `--metrics [host:]port` (SPEC §9): what it reads, and what it says to write instead. */
import { describe, expect, it } from 'vitest';
import { formatListenAddress, parseListenAddress } from '../../src/metrics/listen-address.js';

describe('parseListenAddress', () => {
  it.each([
    { value: '9100', expect: { host: '127.0.0.1', port: 9100 } },
    { value: ' 9100 ', expect: { host: '127.0.0.1', port: 9100 } },
    { value: '10.0.0.5:9100', expect: { host: '10.0.0.5', port: 9100 } },
    { value: '0.0.0.0:1', expect: { host: '0.0.0.0', port: 1 } },
    { value: 'localhost:65535', expect: { host: 'localhost', port: 65535 } },
    { value: 'metrics-1.example.org:9100', expect: { host: 'metrics-1.example.org', port: 9100 } },
    { value: '[::1]:9100', expect: { host: '::1', port: 9100 } },
    { value: '[::]:9100', expect: { host: '::', port: 9100 } },
    { value: '', error: 'The port must be a number from 1 to 65535' },
    { value: 'abc', error: 'The port must be a number from 1 to 65535' },
    { value: '0', error: 'The port must be a number from 1 to 65535' },
    { value: '65536', error: 'The port must be a number from 1 to 65535' },
    { value: '91OO', error: 'The port must be a number from 1 to 65535' },
    { value: '127.0.0.1:', error: 'The port must be a number from 1 to 65535' },
    { value: ':9100', error: 'The host is empty: write 9100 for 127.0.0.1:9100, or 0.0.0.0:9100' },
    { value: '::1:9100', error: 'Write an IPv6 address in brackets, then its port: [::1]:9100' },
    { value: '[::1]9100', error: 'Write an IPv6 address in brackets, then its port' },
    { value: '[::g]:9100', error: 'Write an IPv6 address in brackets, then its port' },
    { value: '10.0.0.300:9100', error: '"10.0.0.300" is neither an IP address nor a host name' },
    { value: 'bad_host:9100', error: '"bad_host" is neither an IP address nor a host name' },
  ])('$value', ({ value, expect: address, error }) => {
    if (error !== undefined) expect(() => parseListenAddress(value)).toThrow(error);
    else expect(parseListenAddress(value)).toEqual(address);
  });

  it('formats what it reads back, brackets for IPv6', () => {
    for (const value of ['127.0.0.1:9100', '[::1]:9100', 'localhost:80']) expect(formatListenAddress(parseListenAddress(value))).toBe(value);
  });
});
