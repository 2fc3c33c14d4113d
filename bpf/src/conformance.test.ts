/**
 * The kernel's verdicts against the reference evaluator of the IR (`@leash/policies`), on
 * random rule sets: real opens through the fanotify answerer, real connects through the
 * cgroup programs.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { decideConnect, decideFile } from '@leash/policies';
import type { ConnectMatcher, ConnectRule, FileRule, PrincipalIR } from '@leash/policies/dist/ir';
import { addonPath, ConnectGuard, FileGuard } from './index';
import { FILES, OPENS, randomFileRules, VerdictLog } from './conformance-cases';
import { JsonChild, removeCgroup, requireKernel } from './kernel-test-support';
import { pick, seededRandom as random } from '@leash/policies/dist/random';

function principal(files: FileRule[], connects: ConnectRule[]): PrincipalIR {
  return { principal: 'test', files, connects, exec: [], http: [], mcp: [] };
}

test('FileGuard decides like the reference evaluator on random rule sets', async (t) => {
  if (!requireKernel(t)) return;

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-conf-'));
  const dir = path.join(base, 'mnt');
  fs.mkdirSync(dir);
  const opener = path.join(__dirname, 'fixtures', 'opener.js');
  const child = new JsonChild('unshare', [
    '--mount',
    '--propagation',
    'private',
    process.execPath,
    opener,
    dir,
    JSON.stringify(FILES),
  ]);
  let guard: FileGuard | undefined;
  t.after(async () => {
    guard?.close();
    await child.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  const { pid } = await child.next<{ pid: number }>();
  guard = new FileGuard({
    mountPoints: [`/proc/${pid}/root${dir}`],
    rules: [],
    onEvent: () => undefined,
  });

  const verdicts = new VerdictLog('portable');
  for (let seed = 1; seed <= 25; seed++) {
    const rules = randomFileRules(random(seed), dir);
    guard.update(rules);
    const ir = principal(rules, []);
    for (const file of FILES) {
      for (const open of OPENS) {
        const full = `${dir}/${file}`;
        const allowed =
          (!open.read || decideFile(ir, full, 'read').decision === 'allow') &&
          (!open.write || decideFile(ir, full, 'write').decision === 'allow');
        const outcome = await child.ask<{ ok: boolean; code?: string }>({
          op: 'open',
          path: full,
          flags: open.flags,
        });
        verdicts.add(seed, open.flags, file, (outcome as { ok: boolean }).ok);
        const expected = allowed ? { ok: true } : { ok: false, code: 'EPERM' };
        assert.deepEqual(
          outcome,
          expected,
          `seed ${seed}: ${open.flags} ${file} under ${JSON.stringify(rules)}`,
        );
      }
    }
  }
  verdicts.save();
});

function randomConnectRules(next: () => number, ports: number[]): ConnectRule[] {
  const cidrs = [
    '127.0.0.0/8',
    '127.0.0.1/32',
    '10.0.0.0/8',
    '0.0.0.0/0',
    '::1/128',
    '::/0',
    '::ffff:127.0.0.1/128',
  ];
  const lo = Math.min(...ports);
  const hi = Math.max(...ports);
  const portMatchers: ConnectMatcher[] = [
    ...ports.map((p) => ({ kind: 'port' as const, lo: p, hi: p })),
    { kind: 'port', lo, hi },
    { kind: 'port', lo: 1, hi: lo },
    { kind: 'port', lo: hi, hi: 65535 },
  ];
  return Array.from({ length: 1 + Math.floor(next() * 4) }, (_, i) => {
    const match = Array.from({ length: Math.floor(next() * 3) }, (): ConnectMatcher => {
      const m: ConnectMatcher =
        next() < 0.5 ? { kind: 'cidr', cidr: pick(next, cidrs) } : { ...pick(next, portMatchers) };
      return next() < 0.25 ? { ...m, negate: true } : m;
    });
    return { id: `c${i}`, effect: next() < 0.35 ? 'forbid' : 'permit', match };
  });
}

test('ConnectGuard decides like the reference evaluator on random rule sets', async (t) => {
  if (!requireKernel(t)) return;

  const cgroup = `/sys/fs/cgroup/unified/leash-test-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(cgroup);
  const servers = await Promise.all(
    ['127.0.0.1', '127.0.0.1', '::1', '::1', '::'].map(
      (host) =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer((socket) => socket.destroy());
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  const targets = [
    { host: '127.0.0.1', port: ports[0]! },
    { host: '127.0.0.1', port: ports[1]! },
    { host: '::1', port: ports[2]! },
    { host: '::1', port: ports[3]! },
    { host: '::ffff:127.0.0.1', port: ports[4]! },
  ];
  const guard = new ConnectGuard({ cgroupPath: cgroup, rules: [], onEvent: () => undefined });
  const script = path.join(__dirname, 'fixtures', 'connector.js');
  const child = new JsonChild('sh', [
    '-c',
    `echo $$ > ${cgroup}/cgroup.procs && exec "$0" "$@"`,
    process.execPath,
    script,
    addonPath,
  ]);
  t.after(async () => {
    guard.close();
    await child.stop();
    for (const server of servers) server.close();
    await removeCgroup(cgroup);
  });
  await child.next();

  for (let seed = 1; seed <= 25; seed++) {
    const rules = randomConnectRules(random(seed), ports);
    guard.update(rules);
    const ir = principal([], rules);
    for (const target of targets) {
      const allowed = decideConnect(ir, target.host, target.port).decision === 'allow';
      const outcome = await child.ask({ op: 'tcp', ...target });
      const expected = allowed ? { ok: true } : { ok: false, code: 'EPERM' };
      assert.deepEqual(
        outcome,
        expected,
        `seed ${seed}: ${target.host}:${target.port} under ${JSON.stringify(rules)}`,
      );
    }
  }
});
