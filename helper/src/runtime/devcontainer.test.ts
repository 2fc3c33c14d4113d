import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { readDevcontainer } from './devcontainer';
import { baseImageOf } from './devcontainer-image';

function workspaceWith(json: string, files: Record<string, string> = {}): string {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-dc-'));
  fs.mkdirSync(path.join(ws, '.devcontainer'));
  fs.writeFileSync(path.join(ws, '.devcontainer', 'devcontainer.json'), json);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(ws, name), text);
  return ws;
}

describe('devcontainer.json', () => {
  it('is absent for a workspace without one', () => {
    assert.equal(readDevcontainer(fs.mkdtempSync(path.join(os.tmpdir(), 'leash-dc-'))), undefined);
  });

  it('reads image, user, environment, volumes and postCreateCommand, with comments', () => {
    const ws = workspaceWith(`{
      // a comment
      "name": "demo",
      "image": "leash/base:latest",
      "remoteUser": "dev",
      "containerEnv": { "A": "1" },
      "remoteEnv": { "B": "2" },
      "mounts": ["source=cache,target=/cache,type=volume", { "source": "data", "target": "/data", "type": "volume" }],
      "postCreateCommand": ["make", "setup"],
    }`);
    const dc = readDevcontainer(ws);
    assert.ok(dc);
    assert.equal(dc.image, 'leash/base:latest');
    assert.equal(dc.user, 'dev');
    assert.deepEqual(dc.env, { A: '1', B: '2' });
    assert.deepEqual(dc.postCreate, { argv: ['make', 'setup'] });
    assert.deepEqual(
      dc.mounts.map((m) => m.target),
      ['/cache', '/data'],
    );
    assert.match(dc.mounts[0]?.source ?? '', /^leash-dc-[0-9a-f]{12}-cache$/);
    assert.deepEqual(dc.notHonoured, []);
  });

  it('scopes volume names to the workspace', () => {
    const json = '{"image": "x", "mounts": ["source=cache,target=/cache,type=volume"]}';
    const a = readDevcontainer(workspaceWith(json));
    const b = readDevcontainer(workspaceWith(json));
    assert.notEqual(a?.mounts[0]?.source, b?.mounts[0]?.source);
  });

  it('resolves a build to absolute paths inside the workspace', () => {
    const ws = workspaceWith(
      '{"build": {"dockerfile": "../Dockerfile", "context": "..", "args": {"V": "1"}}}',
      { Dockerfile: 'FROM leash/base:latest\n' },
    );
    const dc = readDevcontainer(ws);
    assert.deepEqual(dc?.build, {
      dockerfile: path.join(ws, 'Dockerfile'),
      context: ws,
      args: { V: '1' },
    });
  });

  it('reports each key it does not act on, with its line and the reason', () => {
    const dc = readDevcontainer(
      workspaceWith(
        '{\n"image": "x",\n"initializeCommand": "curl host",\n"forwardPorts": [3000]\n}',
      ),
    );
    assert.deepEqual(dc?.notHonoured, [
      'initializeCommand (line 3): it would run on the host, outside the sandbox',
      'forwardPorts (line 4): ports are not forwarded; connects are decided by the policy',
    ]);
  });

  it('refuses a build context that a symbolic link takes outside the workspace', () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-home-'));
    fs.writeFileSync(path.join(outside, 'Dockerfile'), 'FROM leash/base:latest\n');
    const ws = workspaceWith('{"build": {"context": "../h", "dockerfile": "../h/Dockerfile"}}');
    fs.symlinkSync(outside, path.join(ws, 'h'));
    assert.throws(() => readDevcontainer(ws), /build\.context must be inside the workspace/);
  });

  it('refuses a FIFO in the build context before reading it, so nothing blocks', async () => {
    const ws = workspaceWith('{"build": {"context": "..", "dockerfile": "../Dockerfile"}}', {
      Dockerfile: 'FROM leash/base:latest\n',
    });
    execFileSync('mkfifo', [path.join(ws, 'pipe')]);
    const dc = readDevcontainer(ws);
    assert.ok(dc);
    // No engine is asked: the context is refused while it is being listed.
    const docker = new Docker({ socketPath: path.join(ws, 'no-engine.sock') });
    await assert.rejects(baseImageOf(docker, dc), /holds .*pipe, which is neither a file/);
  });

  const refusals: [string, string, RegExp][] = [
    [
      'privileged mode',
      '{"image": "x",\n  "privileged": true}',
      /:2:17: "privileged": true is refused/,
    ],
    ['added capabilities', '{"image": "x", "capAdd": ["SYS_ADMIN"]}', /:1:26: "capAdd" is refused/],
    [
      'host networking',
      '{"image": "x", "runArgs": ["--network=host"]}',
      /runArgs "--network=host" is refused/,
    ],
    [
      'a privileged run argument',
      '{"image": "x", "runArgs": ["--privileged"]}',
      /"--privileged" is refused/,
    ],
    [
      'the Docker socket',
      '{"image": "x", "mounts": ["source=/var/run/docker.sock,target=/var/run/docker.sock,type=bind"]}',
      /only Docker volumes can be mounted/,
    ],
    [
      'a second name for the workspace',
      '{"image": "x", "mounts": ["source=${localWorkspaceFolder},target=/src,type=bind"]}',
      /only Docker volumes can be mounted/,
    ],
    [
      'a volume over the workspace',
      '{"image": "x", "mounts": ["source=v,target=WS/.leash,type=volume"]}',
      /would cover the workspace/,
    ],
    [
      'a volume over /proc',
      '{"image": "x", "mounts": ["source=v,target=/proc,type=volume"]}',
      /cover/,
    ],
    [
      "the host's environment",
      '{"image": "x", "containerEnv": {"T": "${localEnv:GITHUB_TOKEN}"}}',
      /reads the host's environment/,
    ],
    [
      'a build outside the workspace',
      '{"build": {"dockerfile": "/etc/Dockerfile"}}',
      /inside the workspace/,
    ],
    ['neither image nor build', '{"name": "x"}', /name an "image" or a "build"/],
    ['broken JSON', '{"image": "x",,}', /:1:15: not valid JSON/],
    ['a bad user name', '{"image": "x", "remoteUser": "a b"}', /is not a user name/],
  ];
  for (const [what, json, message] of refusals) {
    it(`refuses ${what}, naming the file, line and column`, () => {
      const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-dc-'));
      fs.mkdirSync(path.join(ws, '.devcontainer'));
      const file = path.join(ws, '.devcontainer', 'devcontainer.json');
      fs.writeFileSync(file, json.replace('WS', ws));
      assert.throws(
        () => readDevcontainer(ws),
        (err: Error) => err.message.startsWith(`${file}:`) && message.test(err.message),
      );
    });
  }
});
