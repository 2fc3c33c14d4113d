/**
 * Hostile input to leashd from a client on its socket, and odd workspace paths: every bad
 * request gets a clear error, leashd keeps serving, and no sandbox is left behind.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { LeashClient } from '@leash/helper/dist/cli/client';
import { sandboxSkip } from '../support/env';
import { dockerContainers, makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';
import { WORKSPACE_RW } from '../support/policies';

const DAEMON_LABEL = 'dev.leash.daemon';

describe('bad input', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  let client: LeashClient;
  before(async () => {
    await daemon.start();
    client = new LeashClient(daemon.socket);
  });
  after(async () => {
    client.close();
    await daemon.stop();
  });

  const alive = (): void => assert.equal(daemon.cli(['helper', 'status']).status, 0, daemon.log);

  /** A CreateSession with these fields over a valid one; resolves with leashd's error. */
  async function create(fields: Record<string, unknown>): Promise<string> {
    const ws = makeWorkspace();
    const request = {
      agent: 'shell',
      workspace: ws,
      mode: 'enforce',
      policyText: WORKSPACE_RW,
      policyOrigin: 'test',
      command: ['true'],
      ...fields,
    };
    try {
      await client.call('createSession', request, 60_000);
    } catch (err) {
      return (err as Error).message;
    }
    return 'created';
  }

  it('closes a connection that sends garbage instead of HTTP/2, and keeps serving', async () => {
    for (const junk of [crypto.randomBytes(4096), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect(daemon.socket, () => s.write(junk));
        s.on('error', () => resolve(true));
        s.on('close', () => resolve(true));
        s.resume();
        setTimeout(() => resolve(false), 10_000).unref();
      });
      assert.ok(closed, 'the connection was closed');
    }
    alive();
  });

  it('answers a request body that is not protobuf with an error', async () => {
    const raw = new grpc.Client(`unix://${daemon.socket}`, grpc.credentials.createInsecure());
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      raw.makeUnaryRequest(
        '/leash.v1.Leash/CreateSession',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80]),
        (err) => resolve(err),
      );
    });
    raw.close();
    assert.ok(error, 'the call failed');
    assert.notEqual(error.code, grpc.status.OK);
    alive();
  });

  it('refuses hostile session requests with a clear error and leaves no sandbox', async () => {
    const before = dockerContainers(DAEMON_LABEL).length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ workspace: 'relative/dir' }, /^workspace relative\/dir does not exist; create it/],
      [{ workspace: '/tmp/no-such-dir-\u0000x' }, /does not exist; create it/],
      [{ workspace: '/' }, /^workspace \/ refused: it is a system directory/],
      [{ agent: '../../bin/sh' }, /^unknown agent \.\.\/\.\.\/bin\/sh; known agents: shell/],
      [{ mode: 'root' }, /^unknown mode root; modes: enforce, shadow, record/],
      [
        { policyText: 'permit (principal, action, resource' },
        /^policy test is not valid:\ntest:1:36:/,
      ],
      [{ policyText: 'forbid'.repeat(200_000) }, /^policy test is not valid:\ntest:1:\d+:/],
      [{ name: 'a\nb<script>' }, /is not valid: use lower-case letters, digits/],
    ];
    for (const [fields, expected] of cases) {
      const message = await create(fields);
      assert.notEqual(message, 'created', JSON.stringify(fields).slice(0, 80));
      assert.match(message, expected, `${JSON.stringify(fields).slice(0, 80)}: ${message}`);
    }
    assert.equal(dockerContainers(DAEMON_LABEL).length, before, 'no sandbox was left behind');
    alive();
  });

  it('refuses a policy larger than a request may carry, with a message saying so', async () => {
    const big = `// ${'x'.repeat(5 * 1024 * 1024)}\n${WORKSPACE_RW}`;
    const message = await create({ policyText: big });
    assert.notEqual(message, 'created');
    assert.match(
      message,
      /^the request is 5\.\d MiB, more than the 4\.0 MiB leashd accepts: a policy that large/,
      message,
    );
    alive();
  });

  it('runs in workspaces with spaces, unicode and a symbolic link in their paths', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-odd-'));
    try {
      for (const name of ['with space', 'ünïcödé-日本', 'quote\'and"dq', '-leading-dash']) {
        const ws = path.join(base, name);
        fs.mkdirSync(ws);
        const r = daemon.cli([
          ...['run', '--json', '--workspace', ws, 'shell', '--'],
          ...['sh', '-c', 'echo made > "$PWD/out.txt"; pwd'],
        ]);
        assert.equal(r.status, 0, `${name}: ${r.stderr}`);
        assert.equal(fs.readFileSync(path.join(ws, 'out.txt'), 'utf8'), 'made\n', name);
        assert.match(r.stdout, new RegExp(`^${escape(ws)}$`, 'm'), name);
        const written = daemon
          .events(sessionOf(r.stderr))
          .find((e) => e.decision === 'allow' && e.resource === path.join(ws, 'out.txt'));
        assert.ok(written, `the write is logged under the real path for ${name}`);
      }
      // A workspace named through a symbolic link is used, and judged, at its real path.
      const real = makeWorkspace({ '.env': 'SECRET=1\n' });
      const link = path.join(base, 'link');
      fs.symlinkSync(real, link);
      const r = daemon.cli([
        ...['run', '--json', '--workspace', link, 'shell', '--'],
        ...['sh', '-c', `pwd; cat ${link}/.env ${real}/.env 2>&1 | sed 's/.*: //'`],
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^${escape(real)}$`, 'm'));
      assert.doesNotMatch(r.stdout, /SECRET=1/);
      const denied = daemon.events(sessionOf(r.stderr)).filter((e) => e.decision === 'deny');
      assert.ok(
        denied.some((e) => e.resource === `${real}/.env`),
        JSON.stringify(denied),
      );
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
    alive();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
