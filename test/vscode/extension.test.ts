/**
 * The Leash extension in a real VS Code (code-server 4.100, VS Code 1.100) in headless
 * Chromium, against a real leashd: what a user does from the palette, the terminal, the Leash
 * view and the policy editor, with a screenshot of each step in test/vscode/artifacts/.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { REQUIRE_KERNEL } from '../support/env';
import { makeWorkspace, TestDaemon, waitFor } from '../support/leashd';
import { freePort, launchChromium } from '../ui/browser';
import { ARTIFACTS, CodeServer, REPO, VSIX, vscodeSkip } from './code-server';
import { editorShows, pick, runCommand, screenshot, workbenchReady } from './workbench';

const skip = vscodeSkip();
const fixture = (name: string): string =>
  fs.readFileSync(path.join(REPO, 'test', 'vscode', 'fixtures', name), 'utf8');
const sha256 = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

describe('the extension in a real VS Code', { skip, timeout: 300_000 }, () => {
  let daemon: TestDaemon;
  // The user's configuration (policy approvals) and the host checks' report, kept apart from
  // leashd's own folder, which goes away when a test stops leashd.
  let home = '';
  let uiPort = 0;
  let code: CodeServer;
  let workspace: string;
  let policyFile: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let unpacked: string;

  const report = (): string => path.join(home, 'host-report.txt');

  before(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-vscode-home-'));
    uiPort = await freePort();
    daemon = new TestDaemon(['--ui-port', String(uiPort)]);
    await daemon.start();
    workspace = makeWorkspace({
      'README.md': 'a workspace for the extension suite\n',
      '.leash/policy.cedar': fixture('policy.cedar'),
      'broken.cedar': fixture('broken.cedar'),
    });
    policyFile = path.join(workspace, '.leash', 'policy.cedar');
    // The user approved the workspace's policy before (as `leash policy approve` records it).
    const approvals = path.join(home, 'config', 'leash', 'approved-policies.json');
    fs.mkdirSync(path.dirname(approvals), { recursive: true });
    fs.writeFileSync(approvals, JSON.stringify({ [policyFile]: sha256(fixture('policy.cedar')) }));
    code = new CodeServer({
      env: {
        LEASH_SOCKET: daemon.socket,
        XDG_CONFIG_HOME: path.join(home, 'config'),
        LEASH_VSCODE_REPORT: report(),
      },
      settings: {
        'leash.cliPath': path.join(REPO, 'helper', 'bin', 'leash'),
        // Never start a leashd of the machine's own from the suite.
        'leash.startHelper': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'terminal.integrated.gpuAcceleration': 'off',
        'terminal.integrated.showLinkHover': false,
      },
    });
    code.installExtension(VSIX);
    await code.start();
    unpacked = fs.readdirSync(code.extensions).find((d) => d.startsWith('leash.leash-')) ?? '';
    assert.ok(unpacked, `the .vsix did not install into ${code.extensions}`);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    // VS Code's own logs (the extension's "Leash" channel included) are kept with the screenshots.
    if (code) {
      const logs = path.join(code.userData, 'logs');
      if (fs.existsSync(logs)) fs.cpSync(logs, path.join(ARTIFACTS, 'logs'), { recursive: true });
    }
    await code?.stop();
    await daemon?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  test('the extension-host checks pass inside the real extension host', async () => {
    const page: Page = await browser.context.newPage();
    const exit = new Promise<number>(
      (resolve) => void page.exposeFunction('codeAutomationExit', (c: number) => resolve(c)),
    );
    const tests = path.join(REPO, 'test', 'dist', 'vscode', 'host', 'index.js');
    await page.goto(
      code.url(workspace, [
        ['extensionDevelopmentPath', code.remoteUri(path.join(code.extensions, unpacked))],
        ['extensionTestsPath', code.remoteUri(tests)],
      ]),
    );
    await workbenchReady(page);
    let timer: NodeJS.Timeout | undefined;
    const status = await Promise.race([
      exit,
      new Promise<number>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no exit code in 90 s:\n${code.log}`)), 90_000);
      }),
    ]).finally(() => clearTimeout(timer));
    await screenshot(page, '00-extension-host-checks');
    const text = fs.existsSync(report()) ? fs.readFileSync(report(), 'utf8') : '(no report)';
    assert.equal(status, 0, `extension-host checks failed:\n${text}\n${code.log}`);
    assert.match(text, /^ok - the packaged extension activates$/m);
    assert.match(text, /^ok - the language server reports a misspelt action/m);
    await page.close();
  });

  let page: Page;
  let session = '';

  /** A step of the user's journey; a failing step leaves a screenshot of what was on screen. */
  const step = (name: string, fn: () => Promise<void>): void => {
    test(name, async () => {
      try {
        await fn();
      } catch (err) {
        if (page)
          await screenshot(page, `failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
        throw err;
      }
    });
  };

  step('Leash: Run Shell opens a terminal attached to a new session', async () => {
    page = await browser.context.newPage();
    await page.goto(code.url(workspace));
    await workbenchReady(page);
    await page.locator('.statusbar-item', { hasText: 'Leash: 0 running' }).waitFor();

    await runCommand(page, 'Leash: Run Shell');
    const tab = page.locator('.terminal-tabs-entry, .single-terminal-tab', {
      hasText: 'Leash: Shell',
    });
    await tab.first().waitFor({ timeout: 60_000 });
    await waitFor('the session', () => sessions().length === 1, 60_000);
    session = sessions()[0] as string;
    await typeInTerminal(page, 'echo "ready in $PWD"');
    await terminalShows(page, `ready in ${workspace}`);
    await page.locator('.statusbar-item', { hasText: 'Leash: 1 running' }).waitFor();
    await screenshot(page, '01-run-shell-terminal');
  });

  step('a denied write shows in the Leash view, marked, with the deciding policy', async () => {
    await typeInTerminal(page, 'echo first > notes.txt');
    await terminalShows(page, 'notes.txt: Operation not permitted');
    // The kernel creates the file before the open is judged; the denied write put nothing in it.
    const notes = path.join(workspace, 'notes.txt');
    assert.equal(fs.existsSync(notes) ? fs.readFileSync(notes, 'utf8') : '', '');

    await page.locator('.statusbar-item', { hasText: 'Leash: 1 running' }).click();
    const row = denialRow(page);
    await row.waitFor({ timeout: 20_000 });
    assert.equal(await row.locator('.codicon-error').count(), 1, 'the denial has no error icon');
    await page.locator('.statusbar-item', { hasText: '1 denied' }).waitFor();
    await row.hover();
    const tooltip = page.locator('.monaco-hover, .workbench-hover', {
      hasText: 'deciding policy: default deny',
    });
    await tooltip.first().waitFor({ timeout: 10_000 });
    await screenshot(page, '02-denial-in-leash-view');
  });

  step('a policy with an error gets a squiggle and the message', async () => {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('broken.cedar');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'broken.cedar' })
      .first()
      .waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 30_000 });
    await runCommand(page, 'View: Focus Problems');
    const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'ReadFlie' });
    await problem.first().waitFor({ timeout: 10_000 });
    await screenshot(page, '03-policy-squiggle');
  });

  step(
    'Allow This adds a permit for the event, applies it, and the next write is allowed',
    async () => {
      const before = fs.readFileSync(policyFile, 'utf8');
      await page.locator('.statusbar-item', { hasText: 'Leash:' }).first().click();
      const row = denialRow(page);
      await clickInlineAction(row, 'Allow This');

      await waitFor('the permit in the policy file', () =>
        fs.readFileSync(policyFile, 'utf8').includes('@id("allow-writefile")'),
      );
      const after = fs.readFileSync(policyFile, 'utf8');
      assert.ok(after.startsWith(before), 'Allow This changed more than it appended');
      assert.match(after, /\/\/ Allowed from audit event \d+:/);
      await page.locator('.tab.active', { hasText: 'policy.cedar' }).waitFor();
      await screenshot(page, '04-allow-this-policy');

      await typeInTerminal(page, 'echo second > notes.txt && echo "wrote $(cat notes.txt)"');
      await terminalShows(page, 'wrote second');
      assert.equal(fs.readFileSync(path.join(workspace, 'notes.txt'), 'utf8'), 'second\n');
      await screenshot(page, '05-next-write-allowed');
    },
  );

  step(
    'Deny This adds a forbid for an allowed event, and the same write is denied again',
    async () => {
      await page.locator('.statusbar-item', { hasText: 'Leash:' }).first().click();
      const allowed = page
        .locator('.monaco-list-row', { hasText: 'WriteFile' })
        .filter({ hasText: 'notes.txt' })
        .filter({ has: page.locator('.codicon-pass') })
        .first();
      await allowed.waitFor({ timeout: 20_000 });
      await clickInlineAction(allowed, 'Deny This');
      await waitFor('the forbid in the policy file', () =>
        fs.readFileSync(policyFile, 'utf8').includes('@id("deny-writefile")'),
      );

      // The shell prints "denied 2" only when the write fails; the typed line shows $((1+1)).
      await typeInTerminal(page, 'echo third > notes.txt || echo "denied $((1+1))"');
      await terminalShows(page, 'denied 2');
      await screenshot(page, '06-deny-this-denied-again');
      assert.equal(fs.readFileSync(path.join(workspace, 'notes.txt'), 'utf8'), 'second\n');
    },
  );

  step('Suggest Policy from Session opens a checked policy for what the session did', async () => {
    await typeInTerminal(page, 'echo x > /var/tmp/leash-suggest || echo "refused $((2+1))"');
    await terminalShows(page, 'refused 3');
    await runCommand(page, 'Leash: Suggest Policy from Session');
    await editorShows(page, `from session "${session}":`);
    await editorShows(page, 'Leash::File::"/var/tmp/leash-suggest"');
    await screenshot(page, '07-suggest-policy');
  });

  step(
    'Open Control UI, in a browser-based VS Code, offers the address of the page leashd serves',
    async () => {
      await runCommand(page, 'Leash: Open Control UI');
      const toast = page.locator('.notification-toast', {
        hasText: `the Control UI is at http://127.0.0.1:${uiPort}/ on the machine leashd runs on`,
      });
      await toast.waitFor({ timeout: 20_000 });
      assert.equal(await toast.locator('a.monaco-button', { hasText: 'Copy Address' }).count(), 1);
      await screenshot(page, '08-control-ui-address');
      await page.keyboard.press('Escape');
    },
  );

  step('Switch Mode changes the running session to the mode picked', async () => {
    await runCommand(page, 'Leash: Switch Mode');
    await pick(page, 'record');
    await waitFor('record mode', () =>
      daemon.cli(['sessions', '--json']).stdout.includes('"mode":"record"'),
    );
  });

  step('Show Events lists the decisions of the session, the denial with its policy', async () => {
    await runCommand(page, 'Leash: Show Events');
    await editorShows(page, `events of session ${session}`);
    await editorShows(page, 'default deny');
    await screenshot(page, '09-show-events');
  });

  step('Apply Policy applies the policy in the editor to the running session', async () => {
    await page.locator('.tab', { hasText: 'policy.cedar' }).first().click();
    await runCommand(page, 'Leash: Apply Policy');
    await page
      .locator('.notification-toast', {
        hasText: `applied .leash/policy.cedar to session ${session}`,
      })
      .waitFor({ timeout: 20_000 });
  });

  step('the denied-only filter leaves only denials in the view', async () => {
    await page.locator('.statusbar-item', { hasText: 'Leash:' }).first().click();
    // The icon a tree row shows for its decision (inline actions have icons of their own).
    const icons = (name: string) =>
      page.locator(`.monaco-list-row:visible .custom-view-tree-node-item-icon.codicon-${name}`);
    const filter = page.locator('.action-label[aria-label="Toggle Denied Only"]').first();
    await filter.click();
    await waitForAsync('only denials', async () => (await icons('pass').count()) === 0);
    assert.ok((await icons('error').count()) >= 2);
    await screenshot(page, '09b-denied-only');
    await filter.click();
    await icons('pass').first().waitFor();
  });

  step("the terminal's size follows the panel", async () => {
    const before = await ttySize(page);
    await runCommand(page, 'View: Toggle Maximized Panel');
    const after = await ttySize(page);
    assert.ok(after.rows > before.rows, `rows ${before.rows} → ${after.rows}`);
    await runCommand(page, 'View: Toggle Maximized Panel');
  });

  step('Ctrl-C reaches the sandbox, and the exit code shows when the session ends', async () => {
    await typeInTerminal(page, 'sleep 120');
    // Ctrl-C must reach sleep itself, not bash before it started sleep.
    await waitFor('sleep to run', () =>
      daemon.events(session).some((e) => e.action === 'Exec' && e.resource === '/usr/bin/sleep'),
    );
    await page.keyboard.press('Control+C');
    await typeInTerminal(page, 'echo "after interrupt"');
    await terminalShows(page, 'after interrupt', 10_000);
    await typeInTerminal(page, 'exit 3');
    await terminalShows(page, `session ${session} exited with code 3`);
    await waitFor('the session to end', () => sessions().length === 0, 30_000);
    await screenshot(page, '10-exit-code');
  });

  step('Stop Session ends a running session and its terminal says so', async () => {
    await runCommand(page, 'Leash: Run Shell');
    await waitFor('a second session', () => sessions().some((s) => s !== session), 60_000);
    const second = sessions().find((s) => s !== session) as string;
    // Its terminal is up (and has the focus) before the palette opens.
    await typeInTerminal(page, 'echo "second $PWD"');
    await terminalShows(page, `second ${workspace}`);
    await runCommand(page, 'Leash: Stop Session');
    await waitFor('the session to stop', () => sessions().length === 0, 30_000);
    await terminalShows(page, `session ${second}`);
    await screenshot(page, '11-stop-session');
  });

  step('Run Claude starts Claude Code in the agents image, in a terminal of its own', async () => {
    const agents = daemon.cli(['agents', '--json']).stdout.split('\n').filter(Boolean);
    const claude = agents.map((l) => JSON.parse(l) as { agent: string; built: string });
    if (claude.find((a) => a.agent === 'claude')?.built !== 'yes') {
      // The agents image is built in CI (LEASH_REQUIRE_KERNEL=1) and on request only.
      assert.ok(!REQUIRE_KERNEL, 'LEASH_REQUIRE_KERNEL=1 but the agents image is not built');
      return;
    }
    await runCommand(page, 'Leash: Run Claude');
    await page
      .locator('.terminal-tabs-entry, .single-terminal-tab', { hasText: 'Leash: Claude' })
      .first()
      .waitFor({ timeout: 90_000 });
    // Claude Code may end at once (this workspace's policy keeps it out of /tmp): what counts is
    // that its session started, as the principal claude, in the view.
    await page.locator('.statusbar-item', { hasText: 'Leash:' }).first().click();
    await page
      .locator('.monaco-list-row:visible', { hasText: 'claude' })
      .filter({ has: page.locator('.custom-view-tree-node-item-icon.codicon-account') })
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(page, '11b-run-claude');
    for (const name of sessionsOf('claude')) daemon.cli(['stop', name]);
  });

  step(
    'when leashd stops, a command says it is not running on its socket and offers Start Helper',
    async () => {
      await daemon.stop();
      // The status bar notices first: leashd is not reachable any more.
      await page.locator('.statusbar-item .codicon-debug-disconnect').waitFor({ timeout: 20_000 });
      await runCommand(page, 'Leash: Run Shell');
      const toast = page.locator('.notification-toast', {
        hasText: `leashd is not running on ${daemon.socket}`,
      });
      await toast.waitFor({ timeout: 20_000 });
      assert.equal(await toast.locator('a.monaco-button', { hasText: 'Start Helper' }).count(), 1);
      await screenshot(page, '12-helper-not-running');
    },
  );

  function sessionsOf(agent: string): string[] {
    const r = daemon.cli(['sessions', '--json']);
    const lines = r.stdout.split('\n').filter(Boolean);
    const all = lines.map((l) => JSON.parse(l) as { name: string; agent: string });
    return all.filter((s) => s.agent === agent).map((s) => s.name);
  }

  function sessions(): string[] {
    const r = daemon.cli(['sessions', '--json']);
    if (r.status !== 0) throw new Error(`leash sessions failed: ${r.stderr}`);
    const lines = r.stdout.split('\n').filter(Boolean);
    return lines.map((l) => (JSON.parse(l) as { name: string; state: string }).name);
  }
});

function denialRow(page: Page) {
  return page
    .locator('.monaco-list-row', { hasText: 'WriteFile' })
    .filter({ hasText: 'notes.txt' })
    .first();
}

async function typeInTerminal(page: Page, line: string): Promise<void> {
  const screen = page.locator('.terminal-wrapper.active .xterm-screen').first();
  if (!(await screen.isVisible())) await runCommand(page, 'Terminal: Focus Terminal');
  await screen.click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** Waits for text in the terminal (the DOM renderer keeps its rows as text). */
async function terminalShows(page: Page, text: string, ms = 30_000): Promise<void> {
  await page.locator('.xterm-rows', { hasText: text }).first().waitFor({ timeout: ms });
}

/**
 * Hovers a tree row and clicks one of its inline actions. New events enter the view at the top
 * and move rows down, so it waits for the row to stand still, and tries again when a redraw
 * between hover and click left the action without its row (the command then asks which event).
 */
async function clickInlineAction(row: Locator, title: string): Promise<void> {
  const page = row.page();
  const picker = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    try {
      await waitForAsync('the row to stand still', async () => {
        const a = await row.boundingBox();
        await new Promise((r) => setTimeout(r, 400));
        const b = await row.boundingBox();
        return a !== null && b !== null && a.y === b.y;
      });
      await row.hover();
      await row.locator(`.action-label[aria-label="${title}"]`).click({ timeout: 3000 });
      await new Promise((r) => setTimeout(r, 300));
      if (!(await picker.isVisible())) return;
      await page.keyboard.press('Escape');
      throw new Error(`${title} ran without its row`);
    } catch (err) {
      if (attempt === 5) throw err;
    }
  }
}

/** Polls an async check every 200 ms, like waitFor. */
async function waitForAsync(
  what: string,
  check: () => Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The size the sandbox's tty reports now (`stty size`), read back from the terminal. */
let sizeQueries = 0;
async function ttySize(page: Page): Promise<{ rows: number; cols: number }> {
  const mark = `tty${++sizeQueries}`;
  await typeInTerminal(page, `echo "${mark}=$(stty size | tr ' ' x)"`);
  const rows = page.locator('.terminal-wrapper.active .xterm-rows');
  const pattern = new RegExp(`${mark}=(\\d+)x(\\d+)`);
  let found: RegExpMatchArray | null = null;
  await waitForAsync('stty size', async () => {
    found = ((await rows.textContent()) ?? '').match(pattern);
    return found !== null;
  });
  const [, r, c] = found as unknown as RegExpMatchArray;
  return { rows: Number(r), cols: Number(c) };
}
