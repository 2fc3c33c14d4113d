/**
 * ConnectGuard at scale: 10,000 CIDR rules (IPv4 and IPv6) filed by prefix in the kernel,
 * judged like the reference evaluator, and swapped with a small set under live connects.
 * The connector runs in a network namespace of its own with only loopback up, so an allowed
 * connect to a non-loopback address fails with ENETUNREACH (no route) and goes nowhere, and
 * a denied one fails with EPERM from the program.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { decideConnect } from '@leash/policies';
import type { ConnectMatcher, ConnectRule, PrincipalIR } from '@leash/policies/dist/ir';
import { pick, seededRandom } from '@leash/policies/dist/random';
import { addonPath, ConnectGuard, type NetEvent } from './index';
import { eventually, JsonChild, removeCgroup, requireKernel } from './kernel-test-support';

interface Target {
  host: string;
  port: number;
}

const cidr = (c: string): ConnectMatcher => ({ kind: 'cidr', cidr: c });
const ports = (lo: number, hi: number): ConnectMatcher => ({ kind: 'port', lo, hi });
const hex = (n: number): string => n.toString(16);

/**
 * 10,000 rules, half IPv4 and half IPv6, with forbids inside permits and permits inside
 * forbids, port ranges on some, and a port-only forbid scanned beside the index:
 * - 10.a.b.0/24 permitted (i = 256a + b < 2500; ports 1000-1999 only when i % 3 == 0),
 *   its upper half 10.a.b.128/25 forbidden when i is even;
 * - 11.a.b.0/24 permitted (i = 256a + b < 1246) inside 11.a.0.0/16, forbidden when a < 4;
 * - fd00:i::/32 permitted (i < 2500; ports 1000-1999 when i % 3 == 0), fd00:i:8000::/33
 *   forbidden when i is even; fd01:0:i::/48 permitted (i < 1246) inside fd01::/16, forbidden;
 * - loopback permitted, port 9 forbidden everywhere.
 */
function manyRules(): ConnectRule[] {
  const rules: ConnectRule[] = [];
  const add = (id: string, effect: 'permit' | 'forbid', ...match: ConnectMatcher[]): void =>
    void rules.push({ id, effect, match });
  for (let i = 0; i < 2500; i++) {
    const v4 = `10.${i >> 8}.${i & 255}`;
    const limit = i % 3 === 0 ? [ports(1000, 1999)] : [];
    add(`p4-${i}`, 'permit', cidr(`${v4}.0/24`), ...limit);
    add(`p6-${i}`, 'permit', ...limit, cidr(`fd00:${hex(i)}::/32`));
    if (i % 2 === 0) {
      add(`f4-${i}`, 'forbid', cidr(`${v4}.128/25`));
      add(`f6-${i}`, 'forbid', cidr(`fd00:${hex(i)}:8000::/33`));
    }
  }
  for (let a = 0; a < 4; a++) add(`f4-outer-${a}`, 'forbid', cidr(`11.${a}.0.0/16`));
  for (let i = 0; i < 1246; i++)
    add(`p4-inner-${i}`, 'permit', cidr(`11.${i >> 8}.${i & 255}.0/24`));
  add('f6-outer', 'forbid', cidr('fd01::/16'));
  for (let i = 0; i < 1246; i++) add(`p6-inner-${i}`, 'permit', cidr(`fd01:0:${hex(i)}::/48`));
  add('loopback4', 'permit', cidr('127.0.0.0/8'));
  add('loopback6', 'permit', cidr('::1/128'));
  add('not-port-9', 'forbid', ports(9, 9));
  return rules;
}

/** Ten rules that agree with `manyRules` on some endpoints and not on others. */
const FEW: ConnectRule[] = [
  { id: 'p4', effect: 'permit', match: [cidr('10.0.0.0/8')] },
  { id: 'f4', effect: 'forbid', match: [cidr('10.0.0.128/25')] },
  { id: 'p6', effect: 'permit', match: [cidr('fd00::/16')] },
  { id: 'f6', effect: 'forbid', match: [cidr('fd00:0:8000::/33')] },
  { id: 'loopback4', effect: 'permit', match: [cidr('127.0.0.0/8')] },
  { id: 'loopback6', effect: 'permit', match: [cidr('::1/128')] },
  { id: 'not-port-9', effect: 'forbid', match: [ports(9, 9)] },
  { id: 'p4-high', effect: 'permit', match: [cidr('12.0.0.0/8'), ports(2000, 65535)] },
  {
    id: 'f4-not-10',
    effect: 'forbid',
    match: [cidr('0.0.0.0/0'), { ...cidr('10.0.0.0/8'), negate: true }],
  },
  { id: 'p6-any-1500', effect: 'permit', match: [cidr('::/0'), ports(1500, 1500)] },
];

/** Endpoints across the whole set: inside each kind of range, at each kind of port. */
function spotChecks(seed: number, n: number): Target[] {
  const next = seededRandom(seed);
  const int = (below: number): number => Math.floor(next() * below);
  const kinds: Array<() => string> = [
    () => `10.${int(10)}.${int(256)}.${int(256)}`,
    () => `11.${int(6)}.${int(256)}.${1 + int(254)}`,
    () => `fd00:${hex(int(2600))}:${hex(int(65536))}::${hex(1 + int(65535))}`,
    () => `fd01:0:${hex(int(1300))}::${hex(1 + int(65535))}`,
    () => `12.${int(256)}.0.1`,
    () => `fe80::${hex(1 + int(65535))}`,
    () => `::ffff:10.0.${int(10)}.${int(256)}`,
  ];
  return Array.from({ length: n }, () => ({
    host: pick(next, kinds)(),
    port: pick(next, [9, 80, 1000, 1500, 1999, 2000]),
  }));
}

const principal = (connects: ConnectRule[]): PrincipalIR => ({
  principal: 'test',
  files: [],
  connects,
  exec: [],
  http: [],
  mcp: [],
});

const denied = (code: string): boolean => code === 'EPERM';

/** A test cgroup with a connector inside it, in a network namespace of its own. */
async function connectorInCgroup(t: TestContext): Promise<{ cgroup: string; child: JsonChild }> {
  const cgroup = `/sys/fs/cgroup/unified/leash-test-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(cgroup);
  const script = path.join(__dirname, 'fixtures', 'connector.js');
  const shell = `echo $$ > ${cgroup}/cgroup.procs && ip link set lo up && exec "$0" "$@"`;
  const child = new JsonChild('unshare', [
    '--net',
    'sh',
    '-c',
    shell,
    process.execPath,
    script,
    addonPath,
  ]);
  t.after(async () => {
    await child.stop();
    await removeCgroup(cgroup);
  });
  await child.next();
  return { cgroup, child };
}

test('ConnectGuard judges 10,000 IPv4 and IPv6 rules like the reference evaluator', async (t) => {
  if (!requireKernel(t)) return;
  const { cgroup, child } = await connectorInCgroup(t);
  const many = manyRules();
  assert.equal(many.length, 10_000);
  const guard = new ConnectGuard({ cgroupPath: cgroup, rules: many, onEvent: () => undefined });
  t.after(() => guard.close());

  const check = async (rules: ConnectRule[], targets: Target[]): Promise<string[]> => {
    const { codes } = await child.ask<{ codes: string[] }>({ op: 'tcp-each', targets }, 60_000);
    const wrong = targets
      .map((target, i) => ({ ...target, code: codes[i] as string }))
      .filter(
        (r) =>
          denied(r.code) !== (decideConnect(principal(rules), r.host, r.port).decision === 'deny'),
      );
    assert.deepEqual(wrong, [], 'endpoints the kernel judged unlike the reference evaluator');
    return codes;
  };

  await t.test(
    'spot checks across the set agree, with allows and denies of each kind',
    async () => {
      const targets = spotChecks(12, 600);
      const codes = await check(many, targets);
      assert.ok(codes.filter(denied).length > 150, 'many denials');
      assert.ok(codes.filter((c) => !denied(c)).length > 150, 'many allows');
      assert.ok(
        codes.every((c) => c === 'EPERM' || c === 'ENETUNREACH'),
        codes.join(' '),
      );
    },
  );

  await t.test('a forbid inside a permit and a permit inside a forbid both deny', async () => {
    const cases: Array<[Target, string]> = [
      [{ host: '10.0.2.5', port: 80 }, 'ENETUNREACH'], // permit 10.0.2.0/24
      [{ host: '10.0.2.200', port: 80 }, 'EPERM'], // forbid 10.0.2.128/25 inside it
      [{ host: '10.0.5.200', port: 80 }, 'ENETUNREACH'], // odd: no forbid
      [{ host: '10.0.5.200', port: 9 }, 'EPERM'], // the scanned port forbid
      [{ host: '10.0.0.5', port: 80 }, 'EPERM'], // i = 0: ports 1000-1999 only
      [{ host: '10.0.0.5', port: 1999 }, 'ENETUNREACH'],
      [{ host: '11.2.7.1', port: 80 }, 'EPERM'], // permit 11.2.7.0/24 inside forbid 11.2/16
      [{ host: '11.4.7.1', port: 80 }, 'ENETUNREACH'], // no forbid over 11.4/16
      [{ host: 'fd00:5::1', port: 80 }, 'ENETUNREACH'],
      [{ host: 'fd00:4:8000::1', port: 80 }, 'EPERM'],
      [{ host: 'fd00:3::1', port: 80 }, 'EPERM'], // i = 3: ports 1000-1999 only
      [{ host: 'fd00:3::1', port: 1000 }, 'ENETUNREACH'],
      [{ host: 'fd01:0:7::1', port: 80 }, 'EPERM'], // inside forbid fd01::/16
      [{ host: 'fd02::1', port: 80 }, 'EPERM'], // no permit
      [{ host: '::ffff:10.0.2.5', port: 80 }, 'ENETUNREACH'], // judged as IPv4
      [{ host: '127.0.0.1', port: 9 }, 'EPERM'],
      [{ host: '127.0.0.1', port: 1 }, 'ECONNREFUSED'],
      [{ host: '::1', port: 1 }, 'ECONNREFUSED'],
    ];
    const { codes } = await child.ask<{ codes: string[] }>({
      op: 'tcp-each',
      targets: cases.map(([target]) => target),
    });
    assert.deepEqual(
      codes.map((code, i) => `${cases[i]?.[0].host}:${cases[i]?.[0].port} ${code}`),
      cases.map(([target, code]) => `${target.host}:${target.port} ${code}`),
    );
  });

  await t.test(
    'more than 32 rules on one range: the rest are scanned, and still count',
    async () => {
      const crowded: ConnectRule[] = Array.from({ length: 40 }, (_, i) => ({
        id: `port-${i}`,
        effect: i === 37 ? 'forbid' : 'permit',
        match: [cidr('10.9.0.0/16'), ports(3000 + i, 3000 + i)],
      }));
      guard.update(crowded);
      const targets = [3, 31, 32, 36, 37, 39, 40].map((i) => ({
        host: '10.9.1.1',
        port: 3000 + i,
      }));
      assert.deepEqual(await check(crowded, targets), [
        ...['ENETUNREACH', 'ENETUNREACH', 'ENETUNREACH', 'ENETUNREACH'],
        ...['EPERM', 'ENETUNREACH', 'EPERM'],
      ]);
    },
  );

  await t.test('updates to 10 rules and back change every verdict with them', async () => {
    const targets = spotChecks(34, 200);
    guard.update(FEW);
    await check(FEW, targets);
    guard.update(many);
    await check(many, targets);
  });
});

test('swapping 10,000 rules and 10 under live connects never mixes the two sets', async (t) => {
  if (!requireKernel(t)) return;
  const { cgroup, child } = await connectorInCgroup(t);
  const many = manyRules();
  const guard = new ConnectGuard({ cgroupPath: cgroup, rules: many, onEvent: () => undefined });
  t.after(() => guard.close());

  // Endpoints both sets judge alike, where a mix of the two could judge otherwise (a permit of
  // one without the forbid around it in the same set), and some they judge differently.
  const same: Array<[Target, 'allow' | 'deny']> = [
    [{ host: '10.0.1.5', port: 80 }, 'allow'],
    [{ host: 'fd00:1::5', port: 80 }, 'allow'],
    [{ host: '10.0.0.200', port: 1500 }, 'deny'],
    [{ host: '11.0.5.1', port: 80 }, 'deny'],
    [{ host: 'fd01:0:5::1', port: 80 }, 'deny'],
    [{ host: '12.0.0.1', port: 80 }, 'deny'],
    [{ host: '10.0.1.5', port: 9 }, 'deny'],
  ];
  const differ: Target[] = [
    { host: '10.0.0.5', port: 80 },
    { host: '127.0.0.1', port: 1 },
    { host: 'fd00:3::1', port: 80 },
  ];
  for (const [target, verdict] of same) {
    for (const rules of [many, FEW]) {
      assert.equal(decideConnect(principal(rules), target.host, target.port).decision, verdict);
    }
  }
  for (const target of differ) {
    const verdicts = [many, FEW].map((r) => decideConnect(principal(r), target.host, target.port));
    assert.notEqual(verdicts[0]?.decision, verdicts[1]?.decision);
  }

  const targets = [...same.map(([target]) => target), ...differ];
  const loop = child.ask<{ tallies: Record<string, number>[] }>(
    { op: 'tcp-loop', targets, ms: 4000 },
    30_000,
  );
  let updates = 0;
  const started = Date.now();
  while (Date.now() - started < 4000) {
    guard.update(updates % 2 === 0 ? FEW : many);
    updates++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { tallies } = await loop;
  t.diagnostic(`${updates} updates; connects per endpoint: ${JSON.stringify(tallies)}`);

  assert.ok(updates >= 4, `only ${updates} updates in 4 s`);
  same.forEach(([target, verdict], i) => {
    const outcomes = Object.keys(tallies[i] ?? {});
    const expected = verdict === 'deny' ? ['EPERM'] : ['ENETUNREACH'];
    assert.deepEqual(outcomes, expected, `${target.host}:${target.port}: ${outcomes.join(', ')}`);
  });
  // Both verdicts of the endpoints the sets disagree on were seen: the swaps really happened.
  differ.forEach((target, i) => {
    const outcomes = Object.keys(tallies[same.length + i] ?? {});
    const both = outcomes.some(denied) && outcomes.some((o) => !denied(o));
    assert.ok(both, `${target.host}:${target.port}: only ${outcomes.join(', ')}`);
  });
});

test('connects made just before the guard closes are still reported', async (t) => {
  if (!requireKernel(t)) return;
  const { cgroup, child } = await connectorInCgroup(t);
  const events: NetEvent[] = [];
  const guard = new ConnectGuard({
    cgroupPath: cgroup,
    rules: FEW,
    onEvent: (e) => events.push(e),
  });
  // Events reach JavaScript in batches (connect.h); closing drains what is left.
  const targets = Array.from({ length: 20 }, (_, i) => ({ host: '10.0.1.5', port: 2000 + i }));
  await child.ask({ op: 'tcp-each', targets });
  guard.close();
  await eventually('20 events', () => (events.length >= 20 ? true : undefined));
  assert.deepEqual(
    events.map((e) => `${e.ip}:${e.port} ${e.decision}`),
    targets.map((target) => `${target.host}:${target.port} allow`),
  );
});
