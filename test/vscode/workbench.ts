/** Driving the VS Code workbench in Chromium the way a user does: palette, views, screenshots. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS } from './code-server';

/** Waits for the workbench to finish loading (the status bar is the last part drawn). */
export async function workbenchReady(page: Page): Promise<void> {
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
}

/** Runs a command from the palette by its full title, e.g. "Leash: Run Shell". */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  // A terminal that a previous command opened can take the focus just as the palette opens,
  // which closes the palette again: open it once more, as a user would, up to three times.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`>${title}`, { timeout: 5_000 });
      break;
    } catch (err) {
      if (attempt === 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await input.press('Enter');
}

/** Picks an entry of the quick pick a command opened. */
export async function pick(page: Page, label: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(label);
  await input.press('Enter');
}

/** Waits for an editor whose text contains `text`. */
export async function editorShows(page: Page, text: string, ms = 30_000): Promise<void> {
  await page
    .locator('.monaco-editor .view-lines', { hasText: text })
    .first()
    .waitFor({ timeout: ms });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
