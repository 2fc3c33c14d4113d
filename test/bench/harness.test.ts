/** The benchmark harness itself: the turn order, the summaries, and the two static C line
 *  servers (the probe and the HTTPS client) run on the host against real loopback servers. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loopbackAddress, makeCertificates, Upstream } from '../proxy/upstream';
import { lossResults, type Step } from './loss';
import { buildHttpsClient, buildProbe, ProbeServer } from './probe';
import { rotate, summarise } from './stats';

describe('rotate', () => {
  it('runs every side once a round, the order shifting by one, warm-up rounds dropped', async () => {
    const order: string[] = [];
    const side = (name: string) => async (): Promise<number[]> => {
      order.push(name);
      return [order.length];
    };
    const rows = await rotate({ rounds: 3, warmup: 1, budgetMs: 60_000 }, [
      side('a'),
      side('b'),
      side('c'),
    ]);
    assert.deepEqual(order.join(''), 'abc' + 'bca' + 'cab' + 'abc');
    assert.deepEqual(
      rows.map((r) => r.length),
      [3, 3, 3],
    );
    // The first recorded `a` is the 7th call overall: round 1 runs b, c, a.
    assert.deepEqual(rows[0]?.[0], [6]);
  });
});

describe('summarise', () => {
  it('gives medians, their ratio, the paired ratio and the per-sample p99s', () => {
    const r = summarise(
      'x',
      'ms',
      { samples: [2, 4, 6], p99s: [10, 30, 20] },
      { samples: [1, 2, 2], p99s: [5, 5, 5] },
      'note',
    );
    assert.equal(r.value, 4);
    assert.equal(r.baseline, 2);
    assert.equal(r.ratio, 2);
    assert.equal(r.pairedRatio, 2);
    assert.equal(r.p99, 20);
    assert.equal(r.samples, 3);
  });
});

describe('lossResults', () => {
  const step = (rate: number, over: Partial<Step> = {}): Step => ({
    target: rate,
    held: false,
    offeredRate: rate,
    offered: rate * 2,
    read: rate * 2,
    stored: rate * 2,
    kernel: 0,
    leashd: 0,
    queue: 0,
    ingestRate: rate,
    ...over,
  });

  it('gives the highest rate held without loss and the lowest rate that lost', () => {
    const [zero, first] = lossResults(
      [
        step(10_000),
        step(20_000),
        step(30_000, { stored: 50_000, queue: 10_000 }),
        step(20_000, { held: true, stored: 50_000, queue: 50_000, offered: 100_000 }),
        step(15_000, { held: true }),
      ],
      400_000,
      5000,
    );
    assert.equal(zero?.name, 'events_loss_start/zero-loss');
    assert.equal(zero?.value, 15_000);
    assert.equal(zero?.baseline, 400_000);
    assert.equal(first?.name, 'events_loss_start/first-loss');
    assert.equal(first?.value, 20_000);
    assert.equal(first?.baseline, 15_000);
    assert.match(first?.note ?? '', /held 5 s/);
  });

  it('counts a denial missing from the store as lost even with no loss row', () => {
    const [zero, first] = lossResults(
      [step(10_000), step(10_000, { held: true, stored: 19_999 })],
      100_000,
      5000,
    );
    assert.equal(zero?.value, 0);
    assert.equal(first?.value, 10_000);
    assert.equal(first?.ratio, 0, 'no zero-loss rate, so no ratio');
    assert.match(zero?.note ?? '', /1 missing with no loss row/);
  });

  it('says when no step lost, and gives no first-loss row', () => {
    const rows = lossResults(
      [step(10_000), step(0, { offeredRate: 300_000, held: true })],
      0,
      5000,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.value, 300_000);
    assert.match(rows[0]?.note ?? '', /no loss up to 300,000\/s/);
  });
});

describe('the static line servers on the host', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-bench-harness-'));
  const certs = makeCertificates(['api.test']);
  const upstream = new Upstream();
  const address = loopbackAddress();
  let port = 0;

  before(async () => {
    buildProbe(dir);
    buildHttpsClient(dir);
    port = await upstream.listen(address, 0, { key: certs.key, cert: certs.cert });
  });
  after(() => {
    upstream.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it('the HTTPS client times requests on new and kept connections, each answered', async () => {
    const client = ProbeServer.spawn('https client', path.join(dir, 'https-client'), [
      address,
      String(port),
      'api.test',
      certs.caFile,
    ]);
    try {
      await client.ready();
      const before = upstream.seen.length;
      const fresh = await client.run('fresh 3');
      const keep = await client.run('keep 5');
      assert.equal(upstream.seen.length - before, 8);
      assert.ok(upstream.seen.every((s) => s.url === '/bench' && s.headers.host === 'api.test'));
      assert.ok(fresh.meanNs > 0 && keep.meanNs > 0);
      await assert.rejects(client.run('keep 0'), /unknown command/);
    } finally {
      await client.close();
    }
  });

  it('the HTTPS client refuses a server its trust anchors do not vouch for', async () => {
    const client = ProbeServer.spawn('https client', path.join(dir, 'https-client'), [
      address,
      String(port),
      'api.test',
      '/etc/ssl/certs/ca-certificates.crt',
    ]);
    try {
      await client.ready();
      await assert.rejects(client.run('fresh 1'), /TLS handshake/);
    } finally {
      await client.close();
    }
  });

  it('the probe times v4 and v6 loopback connects and refuses what it does not know', async () => {
    const probe = ProbeServer.spawn('probe', path.join(dir, 'probe'), []);
    try {
      await probe.ready();
      assert.ok((await probe.run('connect 20')).meanNs > 0);
      assert.ok((await probe.run('connect6 20')).meanNs > 0);
      await assert.rejects(probe.run('connect6 x'), /Invalid argument/);
    } finally {
      await probe.close();
    }
  });

  it('the probe paces refused connects to the rate asked and fails on any other outcome', async () => {
    const listener = net.createServer((s) => s.destroy());
    const port = await new Promise<number>((resolve) =>
      listener.listen(0, '127.0.0.1', () => resolve((listener.address() as net.AddressInfo).port)),
    );
    const probe = ProbeServer.spawn('probe', path.join(dir, 'probe'), []);
    try {
      await probe.ready();
      // A connect that works is not a refusal.
      await assert.rejects(probe.run(`refused ${port} 0 5 ECONNREFUSED`), /already connected/);
      await new Promise((resolve) => listener.close(resolve));

      // 1,000 at 10,000/s: the last one is due 99.9 ms after the first (at most 10,010/s).
      const paced = await probe.run(`refused ${port} 10000 1000 ECONNREFUSED`);
      const offered = 1e9 / paced.meanNs;
      assert.ok(offered <= 10_010.1, `offered ${offered}/s, more than asked`);
      assert.ok(offered > 10_000 * 0.5, `offered ${offered}/s, far below the rate asked`);
      assert.ok(paced.p99Ns < paced.meanNs, 'p99 times the connect calls, not the pauses');

      const unpaced = await probe.run(`refused ${port} 0 2000 ECONNREFUSED`);
      assert.ok(unpaced.meanNs < paced.meanNs);
      // No cgroup program denies here, so a connect refused by the stack is the wrong outcome.
      await assert.rejects(probe.run(`refused ${port} 0 5 EPERM`), /Connection refused/);
      await assert.rejects(probe.run(`refused ${port} 0 5 EACCES`), /Invalid argument/);
      await assert.rejects(probe.run(`refused 0 0 5 ECONNREFUSED`), /Invalid argument/);
    } finally {
      await probe.close();
    }
  });
});
