/**
 * The Control UI in headless Chromium, against a real leashd and a real session: live denials,
 * filters, event detail, mode switch, policy apply, markup shown as text, and refusals.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { makeWorkspace, sleep, TestDaemon } from '../support/leashd';
import { ARTIFACTS, freePort, launchChromium, request, uiSkip } from './browser';

const BASE = fs.readFileSync(
  path.resolve(__dirname, '..', '..', 'fixtures', 'workspace-rw.cedar'),
  'utf8',
);
const SESSION = 'ui-live';
/** A file name a hostile workload could choose; it must show as text and run nothing. */
const MARKUP = '<img src=x onerror=window.__leashXss=1>';

describe('Control UI', { skip: uiSkip() }, () => {
  let daemon: TestDaemon;
  let port: number;
  let ws: string;
  let run: ReturnType<TestDaemon['cliAsync']>;
  let page: Page;
  let closeBrowser: (() => Promise<void>) | undefined;
  let requests = 0;

  /** Has the session's shell run `command` (a line of sh), and waits until it did. */
  async function inSandbox(command: string): Promise<void> {
    const n = ++requests;
    const tmp = path.join(ws, `.req-${n}`);
    fs.writeFileSync(tmp, command + '\n');
    fs.renameSync(tmp, path.join(ws, `req-${n}`));
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(path.join(ws, `req-${n}.ok`))) {
      if (Date.now() > deadline) throw new Error(`the sandbox did not run: ${command}`);
      await sleep(100);
    }
  }

  async function screenshot(name: string): Promise<void> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  const rows = (): ReturnType<Page['locator']> => page.locator('#events tbody tr');

  before(async () => {
    port = await freePort();
    daemon = new TestDaemon(['--ui-port', String(port)]);
    await daemon.start();

    ws = makeWorkspace({ 'secret.txt': 'top\n', [MARKUP]: 'x\n' });
    const policy = path.join(ws, 'p.cedar');
    fs.writeFileSync(
      policy,
      BASE +
        `\n@id("no-secret")\nforbid (principal, action == Leash::Action::"ReadFile", ` +
        `resource == Leash::File::"${ws}/secret.txt");\n` +
        `\n@id("no-markup")\nforbid (principal, action == Leash::Action::"ReadFile", ` +
        `resource == Leash::File::"${ws}/${MARKUP}");\n`,
    );
    // The session runs each request file the test drops into the workspace, until `stop`.
    const loop =
      `cd ${ws}; while [ ! -e stop ]; do for f in req-*; do ` +
      `case "$f" in *.ok|"req-*") continue;; esac; [ -e "$f.ok" ] && continue; ` +
      `sh "$f" 2>/dev/null; : > "$f.ok"; done; ` +
      `sleep 0.1; done`;
    run = daemon.cliAsync(
      ['run', '--name', SESSION, '--policy', policy, '--workspace', ws].concat([
        'shell',
        '--',
        'sh',
        '-c',
        loop,
      ]),
    );
    await inSandbox('true');

    const ui = daemon.cli(['ui', '--json']);
    assert.equal(ui.status, 0, ui.stderr);
    const url = (JSON.parse(ui.stdout) as { url: string }).url;
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=[A-Za-z0-9_-]{20,}$`));

    const browser = await launchChromium();
    closeBrowser = browser.close;
    page = await browser.context.newPage();
    await page.goto(url);
    await page.locator('#conn.live').waitFor({ timeout: 15_000 });
  });

  after(async () => {
    if (ws) fs.writeFileSync(path.join(ws, 'stop'), '');
    if (run) await Promise.race([run.done, sleep(15_000)]);
    await closeBrowser?.();
    await daemon?.stop();
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  });

  it('lists the running session with its principal and mode', async () => {
    const row = page.locator('#sessions tbody tr', { hasText: SESSION });
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 3), [SESSION, 'shell', 'enforce']);
    assert.equal(await page.locator('#mode').inputValue(), 'enforce');
    await screenshot('1-sessions');
  });

  it('shows a denial live, highlighted, without a reload', async () => {
    await page.evaluate('window.__sameDocument = true');
    await inSandbox('echo x > /etc/leash-ui-denied');
    const row = rows().filter({ hasText: '/etc/leash-ui-denied' });
    await row.first().waitFor({ timeout: 15_000 });
    assert.equal(await row.first().getAttribute('data-decision'), 'deny');
    assert.match((await row.first().getAttribute('class')) ?? '', /\bdeny\b/);
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'the page was not reloaded');
    const ids = (await rows().evaluateAll((r) => r.map((x) => x.getAttribute('data-id')))).map(
      Number,
    );
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    );
    await screenshot('2-live-denial');
  });

  it('filters by decision', async () => {
    await page.locator('#events tbody tr[data-decision="allow"]').first().waitFor();
    await page.selectOption('#f-decision', 'deny');
    // Polled from the test: a string predicate would be evaluated by the page itself, which
    // the page's own content security policy (rightly) forbids.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const shown = await rows().evaluateAll((r) => r.map((x) => x.getAttribute('data-decision')));
      if (shown.length > 0 && shown.every((d) => d === 'deny')) break;
      if (Date.now() > deadline) throw new Error(`still not only denials: ${shown.join(',')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await inSandbox(`cat ${ws}/secret.txt`);
    await rows().filter({ hasText: 'secret.txt' }).first().waitFor({ timeout: 15_000 });
    const decisions = await rows().evaluateAll((r) =>
      r.map((x) => x.getAttribute('data-decision')),
    );
    assert.ok(decisions.length >= 2);
    assert.ok(
      decisions.every((d) => d === 'deny'),
      `only denials: ${decisions.join(',')}`,
    );
    await screenshot('3-filter-deny');
  });

  it("shows an event's process, path and deciding policy with its text", async () => {
    await rows().filter({ hasText: 'secret.txt' }).first().click();
    const detail = page.locator('#detail');
    await detail.locator('pre').first().waitFor({ timeout: 10_000 });
    const fields = (await detail.locator('#detail-fields').textContent()) ?? '';
    assert.match(fields, /process\s*cat \(pid \d+\)/);
    assert.ok(fields.includes(`${ws}/secret.txt`));
    assert.equal(await detail.locator('h4').first().textContent(), 'no-secret');
    assert.match((await detail.locator('pre').first().textContent()) ?? '', /@id\("no-secret"\)/);
    await screenshot('4-detail');
    await page.click('#detail-close');
  });

  it('shows markup in a path as text and runs none of it', async () => {
    await inSandbox(`cat '${ws}/${MARKUP}'`);
    const row = rows().filter({ hasText: MARKUP });
    await row.first().waitFor({ timeout: 15_000 });
    assert.equal(await row.first().locator('td.resource').textContent(), `${ws}/${MARKUP}`);
    await row.first().click();
    await page.locator('#detail pre').first().waitFor({ timeout: 10_000 });
    assert.ok(((await page.locator('#detail-fields').textContent()) ?? '').includes(MARKUP));
    assert.equal(await page.locator('img').count(), 0, 'no element was made from the path');
    assert.equal(await page.evaluate('window.__leashXss'), undefined, 'no script ran');
    await screenshot('5-markup-as-text');
    await page.click('#detail-close');
    await page.selectOption('#f-decision', '');
  });

  it('switches the session mode', async () => {
    await page.locator('#sessions tbody tr', { hasText: SESSION }).click();
    await page.selectOption('#mode', 'shadow');
    await page.locator('#mode-status', { hasText: 'now in shadow mode' }).waitFor();
    const listed = daemon.cli(['sessions', '--json']);
    const mine = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { name: string; mode: string })
      .find((s) => s.name === SESSION);
    assert.equal(mine?.mode, 'shadow');
    await page
      .locator('#sessions tbody tr', { hasText: SESSION })
      .locator('td', { hasText: 'shadow' })
      .waitFor();
    await screenshot('6-mode-shadow');
    await page.selectOption('#mode', 'enforce');
    await page.locator('#mode-status', { hasText: 'now in enforce mode' }).waitFor();
  });

  it('refuses an invalid policy with file:line:column, and applies a valid one', async () => {
    const editor = page.locator('#policy-text');
    const original = await editor.inputValue();
    assert.match(original, /@id\("no-secret"\)/);

    await editor.fill(original + '\n@id("broken")\npermit (principal, action, resource) when {');
    await page.click('#apply');
    const diagnostic = page.locator('#diagnostics li').first();
    await diagnostic.waitFor({ timeout: 15_000 });
    assert.match((await diagnostic.textContent()) ?? '', /p\.cedar:\d+:\d+: error/);
    await screenshot('7-policy-error');

    const lifted = original.replace(/@id\("no-secret"\)[^;]*;/, '');
    await editor.fill(lifted);
    await page.click('#apply');
    await page.locator('#apply-status', { hasText: 'applied' }).waitFor({ timeout: 15_000 });
    await inSandbox(`cat ${ws}/secret.txt > ${ws}/copied.txt`);
    assert.equal(fs.readFileSync(path.join(ws, 'copied.txt'), 'utf8'), 'top\n');
  });

  it('refuses a request without the token, a foreign Host, and a cross-origin change', async () => {
    const token = new URL(JSON.parse(daemon.cli(['ui', '--json']).stdout).url).hash.slice(7);
    const auth = { Authorization: `Bearer ${token}` };

    const none = await request(port, { path: '/api/sessions' });
    assert.equal(none.status, 401);
    const wrong = await request(port, {
      path: '/api/events/stream',
      headers: { Authorization: 'Bearer nope' },
    });
    assert.equal(wrong.status, 401);
    const ok = await request(port, { path: '/api/sessions', headers: auth });
    assert.equal(ok.status, 200);

    const rebound = await request(port, {
      path: '/api/sessions',
      headers: { ...auth, Host: `attacker.example:${port}` },
    });
    assert.equal(rebound.status, 403);

    const change = (headers: Record<string, string>): Promise<{ status: number }> =>
      request(port, {
        method: 'POST',
        path: `/api/sessions/${SESSION}/mode`,
        headers: { ...auth, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ mode: 'record' }),
      });
    assert.equal((await change({ Origin: 'http://attacker.example' })).status, 403);
    assert.equal((await change({})).status, 403, 'no Origin at all');
    const asForm = await change({
      Origin: `http://127.0.0.1:${port}`,
      'Content-Type': 'text/plain',
    });
    assert.equal(asForm.status, 415);
    const modes = daemon.cli(['sessions', '--json']).stdout;
    assert.match(modes, /"mode":"enforce"/, 'none of them changed the mode');

    const pageReply = await request(port, { path: '/' });
    assert.match(String(pageReply.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(pageReply.headers['x-content-type-options'], 'nosniff');
  });
});

describe('Control UI switched off', { skip: uiSkip() }, () => {
  const daemon = new TestDaemon(['--ui-port', '0']);
  before(() => daemon.start());
  after(() => daemon.stop());

  it('leash ui says the UI is off instead of printing an address', () => {
    const r = daemon.cli(['ui']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^leash: the Control UI is off \(uiPort is 0\)$/m);
    assert.equal(r.stdout, '');
  });
});
