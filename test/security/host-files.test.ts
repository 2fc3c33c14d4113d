/**
 * Files in the workspace that the host runs later (git hooks and config, editor, container,
 * agent and MCP settings, the session's own policy): from inside a real session under the
 * default policy, each is tried by creating it, appending to it and replacing it, and the test
 * checks the host's copy is unchanged and every refusal is in the audit log.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxSkip } from '../support/env';
import { makeWorkspace, TestDaemon } from '../support/leashd';

/** Existing files the host will read or run, planted before the session. */
const PLANTED: Record<string, string> = {
  '.git/hooks/pre-commit': '#!/bin/sh\nexit 0\n',
  '.git/config': '[core]\n\tbare = false\n',
  '.vscode/tasks.json': '{"version": "2.0.0", "tasks": []}\n',
  '.vscode/settings.json': '{}\n',
  '.devcontainer/Dockerfile': 'FROM debian\n',
  '.mcp.json': '{"mcpServers": {}}\n',
  '.claude/settings.json': '{}\n',
  '.codex/config.toml': '\n',
  '.gemini/settings.json': '{}\n',
  '.qwen/settings.json': '{}\n',
  '.opencode/opencode.json': '{}\n',
};

/** Files that do not exist yet; creating any of them would be a path out. */
const NEW = [
  '.git/hooks/post-checkout',
  '.vscode/launch.json',
  '.claude/commands/x.md',
  '.leash/policy.cedar',
  '.devcontainer/devcontainer.json',
];

describe('files that run on the host later', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  before(() => daemon.start());
  after(() => daemon.stop());

  const run = (ws: string, script: string) => daemon.script(ws, script);

  it('keeps every such file read-only under the default policy, and logs each attempt', () => {
    const ws = makeWorkspace(PLANTED);
    const lines = [
      ...Object.keys(PLANTED).flatMap((f) => [
        `echo evil >> '${f}' 2>/dev/null && echo 'append:${f}=written' ` +
          `|| echo 'append:${f}=refused'`,
        `echo evil > /tmp/x && mv -f /tmp/x '${f}' 2>/dev/null && echo 'replace:${f}=written' ` +
          `|| echo 'replace:${f}=refused'`,
      ]),
      ...NEW.map(
        (f) =>
          `mkdir -p "$(dirname '${f}')" 2>/dev/null; echo evil > '${f}' 2>/dev/null ` +
          `&& echo 'create:${f}=written' || echo 'create:${f}=refused'`,
      ),
    ];
    const r = run(ws, `cd ${ws}; ${lines.join('; ')}`);
    const results = [...r.stdout.matchAll(/^(\w+):(.*)=(written|refused)$/gm)];
    assert.equal(results.length, lines.length, r.stdout + r.stderr);
    for (const [, how, file, outcome] of results) {
      assert.equal(outcome, 'refused', `${how} ${file}`);
    }
    for (const [file, content] of Object.entries(PLANTED)) {
      assert.equal(fs.readFileSync(path.join(ws, file), 'utf8'), content, file);
    }
    for (const file of NEW) {
      const p = path.join(ws, file);
      // A refused creating open can leave an empty file behind (limitations.md); never content.
      assert.ok(!fs.existsSync(p) || fs.readFileSync(p, 'utf8') === '', file);
    }
    const denied = new Set(
      r.events.filter((e) => e.kind === 'file' && e.decision === 'deny').map((e) => e.resource),
    );
    // A file whose folder could not be made is logged as that folder's denial.
    const loggedFor = (file: string): boolean =>
      [...denied].some((d) => path.join(ws, file) === d || path.join(ws, file).startsWith(`${d}/`));
    // .leash/ is a read-only mount: the kernel refuses the write (EROFS) before any judgement,
    // so that refusal leaves no event.
    for (const file of [...Object.keys(PLANTED), ...NEW.filter((f) => !f.startsWith('.leash/'))]) {
      assert.ok(loggedFor(file), `no denial logged for ${file}`);
    }
  });

  it('keeps the other files the host may run read-only too: direnv, submodules, hook folders', () => {
    // direnv runs .envrc on the host; git runs a submodule's hooks from .git/modules, and a
    // repository that set core.hooksPath (husky's .husky, or .githooks) runs hooks from that
    // folder; OpenCode reads opencode.json.
    const ws = makeWorkspace({
      '.git/config': '[core]\n\thooksPath = .husky\n',
      '.git/modules/sub/hooks/.keep': '',
      '.husky/.keep': '',
    });
    const files = [
      '.envrc',
      '.git/modules/sub/hooks/post-checkout',
      '.git/modules/sub/config',
      '.husky/pre-commit',
      '.githooks/pre-push',
      'opencode.json',
    ];
    const r = run(
      ws,
      `cd ${ws}; ` +
        files
          .map(
            (f) =>
              `mkdir -p "$(dirname '${f}')" 2>/dev/null; echo '# planted' > '${f}' ` +
              `2>/dev/null && echo 'written:${f}' || echo 'refused:${f}'`,
          )
          .join('; '),
    );
    for (const f of files) {
      assert.match(r.stdout, new RegExp(`^refused:${f.replaceAll('.', '\\.')}$`, 'm'), r.stderr);
      const p = path.join(ws, f);
      assert.ok(!fs.existsSync(p) || fs.readFileSync(p, 'utf8') === '', f);
    }
    const denied = r.events.filter((e) => e.kind === 'file' && e.decision === 'deny');
    for (const f of files) {
      assert.ok(
        denied.some((e) => path.join(ws, f).startsWith(String(e.resource))),
        `no denial logged for ${f}`,
      );
    }
  });

  it('limitation: a core.hooksPath folder of another name and *.code-workspace are writable', () => {
    // The default policy cannot know every folder a repository names in core.hooksPath (it
    // keeps .git/config itself read-only, so the agent cannot point it somewhere new). VS Code
    // runs the tasks of a .code-workspace file, but a forbid by file-name suffix would also
    // refuse moving or removing every directory (one could hold such a file).
    const ws = makeWorkspace({ '.git/config': '[core]\n\thooksPath = tools/hooks\n' });
    const r = run(
      ws,
      `cd ${ws}; mkdir -p tools/hooks && echo '# planted' > tools/hooks/pre-commit && ` +
        `echo '# planted' > project.code-workspace`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(ws, 'tools/hooks/pre-commit'), 'utf8'), '# planted\n');
    assert.equal(fs.readFileSync(path.join(ws, 'project.code-workspace'), 'utf8'), '# planted\n');
  });
});
