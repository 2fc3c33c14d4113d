import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, formatAddress, formatCidr, parseAddress, parseCidr, unmap } from './ip';

describe('IP addresses', () => {
  it('parses IPv4 and IPv6, refusing malformed ones', () => {
    assert.deepEqual(parseAddress('10.0.0.1'), { family: 4, bits: 0x0a000001n });
    assert.deepEqual(parseAddress('::1'), { family: 6, bits: 1n });
    for (const bad of ['10.0.0', '10.0.0.256', '01.2.3.4', '1::2::3', 'fe80::1%eth0', '::g']) {
      assert.equal(parseAddress(bad), null, bad);
    }
  });

  it('judges IPv4-mapped IPv6 addresses as IPv4', () => {
    const mapped = parseAddress('::ffff:192.168.0.1');
    assert.ok(mapped);
    assert.equal(formatAddress(unmap(mapped)), '192.168.0.1');
    assert.equal(formatAddress(unmap(parseAddress('::ffff:c0a8:1') ?? mapped)), '192.168.0.1');
  });

  it('normalises CIDR ranges and formats IPv6 in its shortest form', () => {
    assert.equal(formatCidr(parseCidr('10.1.2.3/8') ?? assert.fail()), '10.0.0.0/8');
    assert.equal(
      formatCidr(parseCidr('2001:db8:0:0:1:0:0:1') ?? assert.fail()),
      '2001:db8::1:0:0:1/128',
    );
    assert.equal(formatCidr(parseCidr('fe80::1/10') ?? assert.fail()), 'fe80::/10');
    assert.equal(parseCidr('10.0.0.0/33'), null);
  });

  it('keeps IPv4 and IPv6 apart in ranges', () => {
    const all6 = parseCidr('::/0') ?? assert.fail();
    assert.equal(cidrContains(all6, parseAddress('1.2.3.4') ?? assert.fail()), false);
    assert.equal(cidrContains(all6, parseAddress('::1') ?? assert.fail()), true);
  });
});
