/**
 * Runs inside VS Code's real extension host (code-server), loaded through the workbench's
 * `extensionTestsPath`: checks what only the extension host can see. Failures are written to
 * LEASH_VSCODE_REPORT for the suite to print, and make run() reject (a non-zero exit code).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';

const EXPECTED_COMMANDS = [
  'leash.runClaude',
  'leash.runCodex',
  'leash.runGemini',
  'leash.runQwen',
  'leash.runOpenCode',
  'leash.runShell',
  'leash.openControlUi',
  'leash.stopSession',
  'leash.applyPolicy',
  'leash.switchMode',
  'leash.showEvents',
  'leash.suggestPolicy',
  'leash.allowThis',
  'leash.denyThis',
  'leash.startHelper',
];

const checks: [string, () => Promise<void>][] = [
  [
    'the packaged extension activates',
    async () => {
      const ext = vscode.extensions.getExtension('leash.leash');
      assert.ok(ext, 'extension leash.leash is not installed');
      await ext.activate();
      assert.equal(ext.isActive, true);
    },
  ],
  [
    'every palette command is registered',
    async () => {
      const all = new Set(await vscode.commands.getCommands(true));
      assert.deepEqual(
        EXPECTED_COMMANDS.filter((c) => !all.has(c)),
        [],
      );
    },
  ],
  [
    '.cedar and .cedarschema files get their languages',
    async () => {
      const languages = await vscode.languages.getLanguages();
      assert.ok(languages.includes('cedar') && languages.includes('cedarschema'));
    },
  ],
  [
    'settings have defaults that need no setup',
    async () => {
      const leash = vscode.workspace.getConfiguration('leash');
      assert.equal(leash.inspect('policyFile')?.defaultValue, '.leash/policy.cedar');
      assert.equal(leash.inspect('mode')?.defaultValue, 'enforce');
      assert.equal(leash.inspect('defaultAgent')?.defaultValue, 'shell');
      assert.equal(leash.inspect('socketPath')?.defaultValue, '');
    },
  ],
  [
    'the language server reports a misspelt action in a .cedar file, with its range',
    async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      assert.ok(folder, 'no workspace folder is open');
      const uri = vscode.Uri.joinPath(folder.uri, 'broken.cedar');
      const doc = await vscode.workspace.openTextDocument(uri);
      assert.equal(doc.languageId, 'cedar');
      const deadline = Date.now() + 30_000;
      let found: vscode.Diagnostic | undefined;
      while (!found && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        found = vscode.languages
          .getDiagnostics(uri)
          .find((d) => d.severity === vscode.DiagnosticSeverity.Error && d.source === 'leash');
      }
      assert.ok(found, 'no error from the leash language server within 30 s');
      assert.match(found.message, /ReadFlie/);
      assert.equal(doc.getText(found.range).includes('ReadFlie'), true);
    },
  ],
];

export async function run(): Promise<void> {
  const report: string[] = [];
  let failed = 0;
  for (const [name, check] of checks) {
    try {
      await check();
      report.push(`ok - ${name}`);
    } catch (err) {
      failed++;
      report.push(`not ok - ${name}: ${(err as Error).stack ?? String(err)}`);
    }
  }
  const file = process.env.LEASH_VSCODE_REPORT;
  if (file) fs.writeFileSync(file, report.join('\n') + '\n');
  if (failed > 0)
    throw new Error(`${failed} extension-host check(s) failed:\n${report.join('\n')}`);
}
