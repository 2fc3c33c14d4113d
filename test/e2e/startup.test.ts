/** leashd and the CLI refuse what they cannot do, clearly, and leave nothing behind. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import * as grpc from '@grpc/grpc-js';
import { LeashClient } from '@leash/helper/dist/cli/client';
import { CLI, DAEMON, TestDaemon } from '../support/leashd';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'leash-start-'));
}

describe('starting leashd', { skip: sandboxSkip() }, () => {
  it('refuses to run as a user other than root', () => {
    const dir = tempDir();
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        DAEMON,
        '--socket',
        path.join(dir, 's.sock'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /leashd must run as root/);
  });

  it('tells a client without access to the socket to join the leash group', () => {
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        CLI,
        '--socket',
        '/run/leash/leashd.sock',
        'helper',
        'status',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no permission to use leashd's socket .*join the `leash` group/);
  });

  it('tells a client when no leashd runs on the socket', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, '--socket', path.join(tempDir(), 'none.sock'), 'sessions'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /leashd is not running on \S+none\.sock \(no socket there\); start it with `leash helper start`/,
    );
  });

  it('ends an attach to a session that does not exist with an error, not a hang', async () => {
    const daemon = new TestDaemon();
    await daemon.start();
    try {
      const client = new LeashClient(daemon.socket);
      const call = (client.raw['attach'] as () => grpc.ClientDuplexStream<object, object>).call(
        client.raw,
      );
      const outcome = await new Promise<string>((resolve) => {
        call.on('error', (e: grpc.ServiceError) => resolve(`error: ${e.details}`));
        call.on('end', () => resolve('end'));
        call.write({ start: { session: 'nope', tty: false, cols: 0, rows: 0 } });
        setTimeout(() => resolve('hung'), 10_000).unref();
      });
      client.close();
      assert.match(outcome, /^error: no session named nope/);
    } finally {
      await daemon.stop();
    }
  });
});
