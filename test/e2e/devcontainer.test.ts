/** A workspace's devcontainer.json as the sandbox's base: built offline, its user, environment,
 *  volumes and postCreateCommand honoured under the policy, and unsafe requests refused. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, TestDaemon } from '../support/leashd';

const DOCKERFILE = `FROM leash/base:latest
RUN useradd --create-home --home-dir /home/dev --uid 1234 dev && echo built > /opt/marker
`;

const DEVCONTAINER = `{
  // Comments and trailing commas are allowed, as in VS Code.
  "name": "leash-test",
  "build": { "dockerfile": "Dockerfile", "args": { "UNUSED": "1" } },
  "remoteUser": "dev",
  "containerEnv": { "GREETING": "hello from devcontainer.json" },
  "mounts": ["source=cache,target=/cache,type=volume"],
  "postCreateCommand": "id -un > post-create.txt; cat .env || true",
  "forwardPorts": [3000],
}
`;

function docker(args: string[]): string {
  return spawnSync('docker', args, { encoding: 'utf8' }).stdout.trim();
}

describe('devcontainer.json', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  let ws = '';
  before(async () => {
    await daemon.start();
    ws = makeWorkspace({
      '.devcontainer/devcontainer.json': DEVCONTAINER,
      '.devcontainer/Dockerfile': DOCKERFILE,
      '.env': 'TOKEN=not-for-the-sandbox\n',
    });
    // The sandbox's user (uid 1234) writes in the workspace, as a developer's own user would.
    fs.chmodSync(ws, 0o777);
  });
  after(async () => {
    await daemon.stop();
    const images = docker(['images', '-q', '--filter', 'reference=leash/devcontainer']);
    if (images) spawnSync('docker', ['rmi', '-f', ...images.split('\n')], { stdio: 'ignore' });
    const volumes = docker(['volume', 'ls', '-q', '--filter', 'name=leash-dc-']);
    for (const v of volumes.split('\n').filter(Boolean)) {
      spawnSync('docker', ['volume', 'rm', '-f', v], { stdio: 'ignore' });
    }
  });

  it('builds the image, runs as remoteUser with containerEnv and the volume, after postCreateCommand', () => {
    const script =
      'id -un; echo "$GREETING"; echo "$HOME"; cat /opt/marker; ' +
      'grep -c " /cache " /proc/mounts; cat post-create.txt';
    const r = daemon.cli(['run', '--workspace', ws, 'shell', '--', 'sh', '-c', script], {
      timeoutMs: 300_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'dev',
      'hello from devcontainer.json',
      '/home/dev',
      'built',
      '1',
      'dev',
    ]);
    assert.match(r.stderr, /not honoured: .*devcontainer\.json: forwardPorts \(line 9\)/);
  });

  it('runs postCreateCommand under the policy: its read of .env was denied', () => {
    const events = daemon.cli(['events', '--decision', 'deny', '--json']).stdout;
    assert.ok(events.includes(`"resource":"${ws}/.env"`), events);
  });

  it('refuses a devcontainer.json that asks for privileged mode, with file, line and column', () => {
    const bad = makeWorkspace({
      '.devcontainer/devcontainer.json':
        '{\n  "image": "leash/base:latest",\n  "privileged": true\n}\n',
    });
    const r = daemon.cli(['run', '--workspace', bad, 'shell', '--', 'true']);
    assert.notEqual(r.status, 0);
    const file = path.join(bad, '.devcontainer', 'devcontainer.json');
    assert.ok(fs.existsSync(file));
    assert.match(r.stderr, new RegExp(`${file}:3:17: "privileged": true is refused`));
  });
});
