import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ConnectRule } from '@leash/policies/dist/ir';
import { addonPath, ConnectGuard, trySocket, type NetEvent } from './index';
import { eventually, JsonChild, removeCgroup, requireKernel } from './kernel-test-support';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const EPERM = 1;

interface Outcome {
  ok: boolean;
  code?: string;
  errno?: number;
}

async function listen(host: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server;
}

function portOf(server: net.Server | dgram.Socket): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return address.port;
}

/** A connector started in `cgroup` (when given) and in a fresh network namespace whose ICMP
 *  sockets are open to every group, so that only Leash's program can refuse them. */
function connector(cgroup: string | undefined, ownNetwork: boolean): JsonChild {
  const script = path.join(__dirname, 'fixtures', 'connector.js');
  const enter = cgroup === undefined ? '' : `echo $$ > ${cgroup}/cgroup.procs && `;
  const network = ownNetwork
    ? 'ip link set lo up && echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range && '
    : '';
  const shell = `${enter}${network}exec "$0" "$@"`;
  const args = ['-c', shell, process.execPath, script, addonPath];
  return ownNetwork
    ? new JsonChild('unshare', ['--net', 'sh', ...args])
    : new JsonChild('sh', args);
}

test('ConnectGuard decides connects and sends of a cgroup from connect rules', async (t) => {
  if (!requireKernel(t)) return;

  const cgroup = `/sys/fs/cgroup/unified/leash-test-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(cgroup);
  const allowed4 = await listen('127.0.0.1');
  const denied4 = await listen('127.0.0.1');
  const allowed6 = await listen('::1');
  const denied6 = await listen('::1');
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const received: string[] = [];
  udp.on('message', (m) => received.push(m.toString()));

  const rules: ConnectRule[] = [
    { id: 'loopback4', effect: 'permit', match: [{ kind: 'cidr', cidr: '127.0.0.0/8' }] },
    {
      id: 'not-that-port',
      effect: 'forbid',
      match: [{ kind: 'port', lo: portOf(denied4), hi: portOf(denied4) }],
    },
    {
      id: 'loopback6-one-port',
      effect: 'permit',
      match: [
        { kind: 'cidr', cidr: '::1/128' },
        { kind: 'port', lo: portOf(allowed6), hi: portOf(allowed6) },
      ],
    },
  ];
  const events: NetEvent[] = [];
  const guard = new ConnectGuard({ cgroupPath: cgroup, rules, onEvent: (e) => events.push(e) });
  const inside = connector(cgroup, false);
  const children = [inside];
  t.after(async () => {
    guard.close();
    for (const child of children) await child.stop();
    for (const server of [allowed4, denied4, allowed6, denied6]) server.close();
    udp.close();
    await removeCgroup(cgroup);
  });
  const { pid } = await inside.next<{ pid: number }>();
  const tcp = (host: string, server: net.Server) =>
    inside.ask<Outcome>({ op: 'tcp', host, port: portOf(server) });

  await t.test('a permitted IPv4 connect succeeds and is reported', async () => {
    assert.deepEqual(await tcp('127.0.0.1', allowed4), { ok: true });
    const event = await eventually('an allow event', () =>
      events.find((e) => e.port === portOf(allowed4)),
    );
    assert.deepEqual(event, {
      ip: '127.0.0.1',
      port: portOf(allowed4),
      family: 4,
      protocol: 'tcp',
      decision: 'allow',
      pid,
      comm: 'node',
    });
  });

  await t.test('a forbid wins: the denied port fails with EPERM', async () => {
    assert.deepEqual(await tcp('127.0.0.1', denied4), { ok: false, code: 'EPERM' });
    const event = await eventually('a deny event', () =>
      events.find((e) => e.port === portOf(denied4)),
    );
    assert.equal(event.decision, 'deny');
  });

  await t.test('IPv6 rules apply to IPv6 connects', async () => {
    assert.deepEqual(await tcp('::1', allowed6), { ok: true });
    assert.deepEqual(await tcp('::1', denied6), { ok: false, code: 'EPERM' });
    const event = await eventually('an IPv6 deny event', () =>
      events.find((e) => e.port === portOf(denied6)),
    );
    assert.deepEqual([event.ip, event.family, event.decision], ['::1', 6, 'deny']);
  });

  await t.test('UDP sends are decided too', async () => {
    assert.deepEqual(await inside.ask({ op: 'udp', host: '127.0.0.1', port: portOf(udp) }), {
      ok: true,
    });
    assert.deepEqual(await inside.ask({ op: 'udp', host: '127.0.0.1', port: portOf(denied4) }), {
      ok: false,
      code: 'EPERM',
    });
    await eventually('the permitted datagram', () => (received.length > 0 ? true : undefined));
    const event = await eventually('a UDP deny event', () =>
      events.find((e) => e.protocol === 'udp' && e.decision === 'deny'),
    );
    assert.equal(event.port, portOf(denied4));
  });

  await t.test('processes outside the cgroup are untouched', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: portOf(denied4) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.destroy();
  });

  await t.test('update swaps the rules', async () => {
    guard.update([{ id: 'only-v6', effect: 'permit', match: [{ kind: 'cidr', cidr: '::/0' }] }]);
    assert.deepEqual(await tcp('127.0.0.1', allowed4), { ok: false, code: 'EPERM' });
    assert.deepEqual(await tcp('::1', denied6), { ok: true });
    guard.update(rules);
    assert.deepEqual(await tcp('127.0.0.1', allowed4), { ok: true });
  });

  await t.test('an IPv4-mapped IPv6 address is judged as IPv4', async () => {
    const mapped = await listen('::');
    try {
      guard.update([
        { id: 'v4', effect: 'permit', match: [{ kind: 'cidr', cidr: '127.0.0.1/32' }] },
      ]);
      assert.deepEqual(await tcp('::ffff:127.0.0.1', mapped), { ok: true });
      guard.update([{ id: 'v6-all', effect: 'permit', match: [{ kind: 'cidr', cidr: '::/0' }] }]);
      assert.deepEqual(await tcp('::ffff:127.0.0.1', mapped), { ok: false, code: 'EPERM' });
    } finally {
      guard.update(rules);
      mapped.close();
    }
  });

  await t.test('rule sets beyond the kernel maps are refused with clear errors', async () => {
    const cidrs = (n: number): ConnectRule[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `r${i}`,
        effect: 'permit',
        match: [{ kind: 'cidr', cidr: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32` }],
      }));
    assert.doesNotThrow(() => guard.update(cidrs(16_384)));
    assert.throws(
      () => guard.update(cidrs(16_385)),
      /^RangeError: 16385 connect rules with a CIDR do not fit the kernel's prefix index \(at most 16384\)/,
    );
    const portOnly: ConnectRule[] = Array.from({ length: 257 }, (_, i) => ({
      id: `r${i}`,
      effect: 'permit',
      match: [{ kind: 'port', lo: i, hi: i }],
    }));
    assert.throws(
      () => guard.update(portOnly),
      /^RangeError: 257 connect rules have no CIDR to be indexed by .* at most 256 such rules/,
    );
    const wide: ConnectRule = {
      id: 'wide',
      effect: 'permit',
      match: Array.from({ length: 5 }, () => ({ kind: 'port' as const, lo: 1, hi: 2 })),
    };
    assert.throws(() => guard.update([wide]), /at most 4 per rule/);
    guard.update(rules);
    assert.deepEqual(await tcp('127.0.0.1', allowed4), { ok: true });
    assert.deepEqual(guard.stats(), { lost: 0, dropped: 0 });
  });

  await t.test('raw and ICMP sockets cannot be created inside the cgroup', async () => {
    const outsideNet = connector(undefined, true);
    const insideNet = connector(cgroup, true);
    children.push(outsideNet, insideNet);
    await outsideNet.next();
    await insideNet.next();
    const kinds = [
      { family: AF_INET, type: SOCK_DGRAM, protocol: IPPROTO_ICMP },
      { family: AF_INET6, type: SOCK_DGRAM, protocol: IPPROTO_ICMPV6 },
      { family: AF_INET, type: SOCK_RAW, protocol: IPPROTO_ICMP },
    ];
    for (const kind of kinds) {
      assert.deepEqual(await outsideNet.ask({ op: 'socket', ...kind }), { ok: true });
      assert.deepEqual(await insideNet.ask({ op: 'socket', ...kind }), { ok: false, errno: EPERM });
    }
    assert.deepEqual(
      await insideNet.ask({ op: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 }),
      { ok: true },
    );
  });

  // Known limitation: the kernel runs cgroup/sock_create for inet and inet6 sockets only, so
  // the program cannot refuse other families; packet sockets need CAP_NET_RAW, which
  // sandboxes lack, and other families (vsock) must be refused by the sandbox runtime.
  await t.test('packet sockets are not seen by the socket program (known limitation)', async () => {
    const root = connector(cgroup, false);
    children.push(root);
    await root.next();
    assert.equal(trySocket(AF_PACKET, SOCK_RAW, 0), 0);
    assert.deepEqual(
      await root.ask({ op: 'socket', family: AF_PACKET, type: SOCK_RAW, protocol: 0 }),
      {
        ok: true,
      },
    );
  });
});
