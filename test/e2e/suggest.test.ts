/**
 * `leash policy suggest` on real sessions: record a workload, suggest a policy, then run the
 * same workload in enforce mode under base + suggestion and find no denial but the secret.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_POLICY_PATH } from '@leash/policies';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, sessionOf, TestDaemon } from '../support/leashd';

/**
 * A base narrower than the default: the system readable, nothing writable, no connects, and the
 * default's forbids for secrets and for workspace files that tools act on.
 */
const NARROW_BASE = `@id("exec-any")
permit (principal, action == Leash::Action::"Exec", resource);

@id("system-read")
permit (principal, action == Leash::Action::"ReadFile", resource in Leash::Dir::"/");

@id("dev-null")
permit (principal, action == Leash::Action::"WriteFile", resource == Leash::File::"/dev/null");

@id("env-files")
forbid (principal, action == Leash::Action::"ReadFile", resource)
when { resource.name like "*.env" };

@id("workspace-protected")
forbid (principal, action == Leash::Action::"WriteFile", resource)
when {
  resource in [
    Leash::Dir::"@workspace/.git/hooks",
    Leash::Dir::"@workspace/.git/config",
    Leash::Dir::"@workspace/.vscode",
    Leash::Dir::"@workspace/.devcontainer",
    Leash::Dir::"@workspace/.mcp.json",
    Leash::Dir::"@workspace/.claude",
    Leash::Dir::"@workspace/.codex",
    Leash::Dir::"@workspace/.gemini",
    Leash::Dir::"@workspace/.qwen",
    Leash::Dir::"@workspace/.opencode",
    Leash::Dir::"@workspace/.leash"
  ]
};
`;

const PORT = 9;

function workspace(): string {
  return makeWorkspace({
    'src/a.ts': 'a\n',
    'src/b.ts': 'b\n',
    'src/c.ts': 'c\n',
    'srv/data/1.csv': '1\n',
    'srv/data/2.csv': '2\n',
    'srv/data/3.csv': '3\n',
    '.env': 'TOKEN=secret\n',
  });
}

describe('leash policy suggest', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-suggest-'));
  before(() => daemon.start());
  after(async () => {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function run(ws: string, args: string[], script: string) {
    const r = daemon.cli([
      'run',
      '--json',
      ...args,
      '--workspace',
      ws,
      'shell',
      '--',
      'bash',
      '-c',
      script,
    ]);
    return { ...r, session: sessionOf(r.stderr) };
  }

  const denials = (session: string): string[] =>
    daemon
      .events(session)
      .filter((e) => e.decision === 'deny')
      .map((e) => `${String(e.action)} ${String(e.resource)}`);

  it('suggests what the default policy denied, and under it only the .env read is denied', () => {
    const ws = workspace();
    const script = [
      `cat ${ws}/src/*.ts ${ws}/srv/data/*.csv`,
      `echo out > ${ws}/out.txt`,
      'mkdir -p /srv/out',
      'for n in 1 2 3; do echo $n > /srv/out/$n.log; done',
      'echo one > /opt/one.log',
      `(exec 3<>/dev/tcp/127.0.0.1/${PORT}) 2>/dev/null`,
      `cat ${ws}/.env`,
      'true',
    ].join('; ');

    const recorded = run(ws, ['--mode', 'record'], script);
    assert.equal(recorded.status, 0, recorded.stderr);
    assert.match(recorded.stdout, /TOKEN=secret/, 'record mode let the .env read through');

    const out = path.join(dir, 'default-suggested.cedar');
    const s = daemon.cli(['policy', 'suggest', '--session', recorded.session, '--output', out]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stderr, /covered by 2 policies/);
    const suggested = fs.readFileSync(out, 'utf8');
    assert.match(suggested, /resource in Leash::Dir::"\/srv\/out"/);
    assert.match(suggested, /resource == Leash::File::"\/opt\/one\.log"/);
    assert.match(suggested, new RegExp(`not suggested: ReadFile "${ws}/\\.env".*env-files`));
    assert.doesNotMatch(suggested, /\.env"\s*$/m, 'no permit names the .env file');

    // Without the suggestion, the default policy denies the writes outside the workspace
    // (the first is the mkdir of /srv/out).
    const before = run(ws, [], script);
    assert.ok(denials(before.session).includes('WriteFile /srv/out'));

    const combined = path.join(dir, 'default-combined.cedar');
    fs.writeFileSync(combined, fs.readFileSync(DEFAULT_POLICY_PATH, 'utf8') + '\n' + suggested);
    const enforced = run(ws, ['--policy', combined], script);
    assert.deepEqual(denials(enforced.session), [`ReadFile ${ws}/.env`]);
  });

  it('on a narrow base, groups workspace directories, permits the connect exactly and keeps .env out', () => {
    const ws = workspace();
    const base = path.join(dir, 'narrow.cedar');
    fs.writeFileSync(base, NARROW_BASE);
    const script = [
      `cat ${ws}/src/*.ts ${ws}/srv/data/*.csv`,
      `mkdir -p ${ws}/build`,
      `for n in 1 2 3; do echo $n > ${ws}/build/$n.o; done`,
      `echo out > ${ws}/out.txt`,
      `(exec 3<>/dev/tcp/127.0.0.1/${PORT}) 2>/dev/null`,
      `cat ${ws}/.env`,
      'true',
    ].join('; ');

    const recorded = run(ws, ['--mode', 'record', '--policy', base], script);
    assert.equal(recorded.status, 0, recorded.stderr);
    const s = daemon.cli(['policy', 'suggest', '--session', recorded.session, '--base', base]);
    assert.equal(s.status, 0, s.stderr);
    const suggested = s.stdout;
    assert.match(suggested, /resource in Leash::Dir::"@workspace\/build"/);
    assert.match(suggested, new RegExp(`resource == Leash::File::"${ws}/out\\.txt"`));
    assert.match(suggested, /resource\.ip == ip\("127\.0\.0\.1"\) && resource\.port == 9 \}/);
    assert.match(
      suggested,
      /not suggested: ReadFile ".*\/\.env" by "shell", forbidden by env-files/,
    );

    const json = daemon.cli([
      'policy',
      'suggest',
      '--session',
      recorded.session,
      '--base',
      base,
      '--json',
    ]);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; policy: string; leftOut: unknown[] };
    assert.equal(parsed.ok, true);
    assert.equal(parsed.policy, suggested);
    assert.equal(parsed.leftOut.length, 1);

    const combined = path.join(dir, 'narrow-combined.cedar');
    fs.writeFileSync(combined, NARROW_BASE + '\n' + suggested);
    const enforced = run(ws, ['--policy', combined], script);
    assert.deepEqual(denials(enforced.session), [`ReadFile ${ws}/.env`]);
  });

  it('in enforce mode suggests from the denials and says so', () => {
    const ws = workspace();
    const r = run(ws, [], 'echo x > /opt/enforced.log; true');
    const s = daemon.cli(['policy', 'suggest', '--session', r.session]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stderr, /ran in enforce mode: only its denials are known/);
    assert.match(s.stdout, /resource == Leash::File::"\/opt\/enforced\.log"/);
  });

  it('refuses an unknown session', () => {
    const s = daemon.cli(['policy', 'suggest', '--session', 'no-such-session']);
    assert.equal(s.status, 1);
    assert.match(s.stderr, /no start of session no-such-session/);
  });
});
