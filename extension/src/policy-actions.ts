/**
 * Commands that change or produce policy text: Allow This / Deny This (through the language
 * server's `leash/policyFromEvent`), Apply Policy and Suggest Policy from Session.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { PolicyFromEventRequest } from '@leash/language-server/dist/protocol';
import { runCli } from './cli';
import * as config from './config';
import { lspEvent } from './event-text';
import type { Helper } from './helper';
import { log } from './log';
import { approve, policyPath } from './policy-source';
import type { ApplyPolicyReply, AuditEvent, SessionInfo } from './wire';

/** The policy file Allow This edits: the session's own file, else the workspace's. */
function policyFileFor(session: SessionInfo | undefined): vscode.Uri {
  const origin = session?.policyOrigin;
  if (origin && origin.startsWith('/')) return vscode.Uri.file(origin);
  const folder = config.workspaceFolder();
  if (!folder) throw new Error('Leash: open the workspace folder whose policy should change.');
  return vscode.Uri.file(policyPath(folder.uri.fsPath, config.policyFileSetting()));
}

export async function policyFromEvent(
  lsp: LanguageClient,
  helper: Helper,
  event: AuditEvent,
  decision: 'allow' | 'deny',
  session: SessionInfo | undefined,
): Promise<void> {
  const uri = policyFileFor(session);
  const doc = await vscode.workspace.openTextDocument(uri);
  const result = await lsp
    .sendRequest(PolicyFromEventRequest, {
      textDocument: { uri: uri.toString() },
      event: lspEvent(event),
      decision,
    })
    .catch((err: Error) => {
      throw new Error(`Leash: ${err.message}`);
    });
  const edit = await lsp.protocol2CodeConverter.asWorkspaceEdit(result.edit);
  if (!(await vscode.workspace.applyEdit(edit))) {
    throw new Error(`Leash: the edit to ${uri.fsPath} was not applied (is the file read-only?)`);
  }
  await doc.save();
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  editor.revealRange(new vscode.Range(end, end));
  log.info(`${decision} from event ${event.id}: added ${result.ids.join(', ')} to ${uri.fsPath}`);

  // The user asked for this change, so the new text is approved and applied to the session.
  if (session && session.policyOrigin === uri.fsPath) {
    approve(uri.fsPath, doc.getText());
    await applyTo(helper, session.name, doc.getText(), uri.fsPath);
  }
  void vscode.window.showInformationMessage(
    `Leash: added ${result.ids.join(', ')} to ${vscode.workspace.asRelativePath(uri)}` +
      (session ? ` and applied it to session ${session.name}.` : '.'),
  );
}

export async function applyTo(
  helper: Helper,
  session: string,
  text: string,
  origin: string,
): Promise<void> {
  const client = await helper.ensure();
  const reply = await client.call<ApplyPolicyReply>('applyPolicy', {
    session,
    policyText: text,
    policyOrigin: origin,
  });
  if (!reply.applied) {
    throw new Error(
      `Leash: session ${session} refused the policy; the running one stays:\n` +
        reply.diagnostics.join('\n'),
    );
  }
  log.info(
    `session ${session}: policy ${reply.oldHash.slice(0, 12)} → ${reply.newHash.slice(0, 12)}`,
  );
}

/** Apply Policy: the active `.cedar` editor (or the workspace policy) to a running session. */
export async function applyPolicy(helper: Helper, session: string): Promise<void> {
  const active = vscode.window.activeTextEditor?.document;
  const doc =
    active && active.languageId === 'cedar'
      ? active
      : await vscode.workspace.openTextDocument(policyFileFor(undefined));
  if (doc.isDirty) await doc.save();
  const origin = doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString();
  await applyTo(helper, session, doc.getText(), origin);
  if (doc.uri.scheme === 'file') approve(origin, doc.getText());
  void vscode.window.showInformationMessage(
    `Leash: applied ${vscode.workspace.asRelativePath(doc.uri)} to session ${session}.`,
  );
}

/**
 * Suggest Policy from Session: `leash policy suggest`, added to the policy the session runs
 * (when it came from a file), opened as a new, unsaved policy.
 */
export async function suggestPolicy(info: SessionInfo): Promise<void> {
  const session = info.name;
  log.info(`suggesting a policy from session ${session}`);
  const title = `Leash: suggesting a policy from session ${session}…`;
  const location = vscode.ProgressLocation.Notification;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-suggest-'));
  const file = path.join(dir, 'suggested.cedar');
  let text: string;
  let said: string;
  try {
    const args = ['policy', 'suggest', '--session', session, '--output', file];
    if (path.isAbsolute(info.policyOrigin)) args.push('--base', info.policyOrigin);
    ({ said } = await vscode.window.withProgress({ location, title }, () => runCli(args, 120_000)));
    text = fs.readFileSync(file, 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  log.info(`suggested ${text.length} characters for session ${session}: ${said}`);
  if (text.trim() === '') {
    void vscode.window.showInformationMessage(`Leash: nothing to suggest. ${said}`);
    return;
  }
  const doc = await vscode.workspace.openTextDocument({ language: 'cedar', content: text });
  await vscode.window.showTextDocument(doc);
  if (said) void vscode.window.showInformationMessage(`Leash: ${said}`);
}
