/**
 * The Leash extension in a real VS Code (code-server 4.100, VS Code 1.100) in headless
 * Chromium, against a real leashd: what a user does from the palette, the terminal, the Leash
 * view and the policy editor, with a screenshot of each step in test/vscode/artifacts/.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { makeWorkspace, TestDaemon } from '../support/leashd';
import { launchChromium } from '../ui/browser';
import { CodeServer, REPO, VSIX, vscodeSkip } from './code-server';
import { screenshot, workbenchReady } from './workbench';

const skip = vscodeSkip();

describe('the extension in a real VS Code', { skip, timeout: 300_000 }, () => {
  const daemon = new TestDaemon();
  let code: CodeServer;
  let workspace: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let unpacked: string;

  const report = (): string => path.join(daemon.dir, 'host-report.txt');

  before(async () => {
    await daemon.start();
    workspace = makeWorkspace({ 'README.md': 'a workspace for the extension suite\n' });
    code = new CodeServer({
      env: {
        LEASH_SOCKET: daemon.socket,
        XDG_CONFIG_HOME: path.join(daemon.dir, 'config'),
        LEASH_VSCODE_REPORT: report(),
      },
      settings: {
        'leash.cliPath': path.join(REPO, 'helper', 'bin', 'leash'),
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'terminal.integrated.gpuAcceleration': 'off',
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
    await code?.stop();
    await daemon.stop();
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
    await page.close();
  });
});
