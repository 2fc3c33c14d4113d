/** The proxy's test settings dial loopback only, whatever the file asks for. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTestSettings } from './settings';

function load(settings: object): ReturnType<typeof loadTestSettings> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-settings-'));
  const file = path.join(dir, 'settings.json');
  fs.writeFileSync(file, JSON.stringify(settings));
  try {
    return loadTestSettings(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('proxy test settings', () => {
  it('reads one address or a list of answers in turn, refused addresses and a DNS server', () => {
    const s = load({
      hosts: { 'API.test': '127.0.0.2', 'turn.test': ['127.0.0.3', '127.0.0.4'] },
      refuse: ['127.0.0.4'],
      dnsServer: '127.0.0.5:5353',
    });
    assert.deepEqual(s?.hosts, {
      'api.test': ['127.0.0.2'],
      'turn.test': ['127.0.0.3', '127.0.0.4'],
    });
    assert.deepEqual(s?.refuse, ['127.0.0.4']);
    assert.equal(s?.dnsServer, '127.0.0.5:5353');
  });

  it('refuses any address that is not loopback IPv4, naming the entry', () => {
    assert.throws(() => load({ hosts: { 'a.test': '10.0.0.1' } }), /a\.test maps to "10\.0\.0\.1"/);
    assert.throws(() => load({ hosts: { 'a.test': ['127.0.0.1', '::1'] } }), /not a loopback IPv4/);
    assert.throws(() => load({ hosts: { 'a.test': [] } }), /a\.test has no address/);
    assert.throws(() => load({ hosts: {}, refuse: ['169.254.169.254'] }), /refuse maps to/);
    assert.throws(() => load({ hosts: {}, dnsServer: '192.0.2.1:53' }), /dnsServer maps to/);
    assert.throws(
      () => load({ hosts: {}, dnsServer: '127.0.0.1' }),
      /"127\.0\.0\.1" is not ADDRESS:PORT/,
    );
    assert.throws(() => load({ hosts: {}, dnsServer: '127.0.0.1:70000' }), /is not ADDRESS:PORT/);
  });
});
