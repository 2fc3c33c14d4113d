/** Commands on a running session: pick one, stop it, switch its mode, list its events, the UI. */
import * as vscode from 'vscode';
import { eventLabel, decidingPolicies } from './event-text';
import type { Helper } from './helper';
import type { Node } from './sidebar';
import { MODES, type AuditEvent, type SessionInfo } from './wire';

/** The session a command acts on: the tree node it was invoked on, the only one, or a pick. */
export async function pickSession(helper: Helper, node?: Node): Promise<SessionInfo | undefined> {
  const client = await helper.ensure();
  const { sessions } = await client.call<{ sessions: SessionInfo[] }>('listSessions', {});
  const wanted = node && node.type !== 'event' ? node.session : node?.event.session;
  if (wanted) {
    const found = sessions.find((s) => s.name === wanted);
    if (!found) throw new Error(`Leash: session ${wanted} is not running any more.`);
    return found;
  }
  if (sessions.length === 0)
    throw new Error('Leash: no session is running; start one with Leash: Run Shell.');
  if (sessions.length === 1) return sessions[0];
  const pick = await vscode.window.showQuickPick(
    sessions.map((s) => ({
      label: s.name,
      description: `${s.agent} · ${s.mode}`,
      detail: s.workspace,
      session: s,
    })),
    { placeHolder: 'Which session?' },
  );
  return pick?.session;
}

export async function stopSession(helper: Helper, session: SessionInfo): Promise<void> {
  const client = await helper.ensure();
  await client.call('stopSession', { name: session.name });
  void vscode.window.showInformationMessage(`Leash: stopped session ${session.name}.`);
}

const MODE_HELP: Record<string, string> = {
  enforce: 'denials are enforced',
  shadow: 'would-be denials are logged and allowed',
  record: 'everything is logged, for Suggest Policy',
};

export async function switchMode(helper: Helper, session: SessionInfo): Promise<void> {
  const pick = await vscode.window.showQuickPick(
    MODES.map((m) => ({
      label: m,
      description: m === session.mode ? `${MODE_HELP[m]} (current)` : MODE_HELP[m],
    })),
    { placeHolder: `Mode of session ${session.name}` },
  );
  if (!pick || pick.label === session.mode) return;
  const client = await helper.ensure();
  await client.call('setMode', { session: session.name, mode: pick.label });
  void vscode.window.showInformationMessage(
    `Leash: session ${session.name} is now in ${pick.label} mode.`,
  );
}

/** Show Events: the session's audit log so far, one decision per line, as a text document. */
export async function showEvents(helper: Helper, session: SessionInfo): Promise<void> {
  const client = await helper.ensure();
  const events = await new Promise<AuditEvent[]>((resolve, reject) => {
    const all: AuditEvent[] = [];
    const stream = client.queryEvents({ session: session.name });
    stream.on('data', (e: AuditEvent) => all.push(e));
    stream.on('error', (err: Parameters<typeof client.error>[0]) => reject(client.error(err)));
    stream.on('end', () => resolve(all));
  });
  const lines = events.map(
    (e) =>
      `${e.time}  ${e.decision.toUpperCase().padEnd(10)} ${e.principal.padEnd(10)} ` +
      `${eventLabel(e)}  [${decidingPolicies(e)}]`,
  );
  const header =
    `Leash: ${events.length} events of session ${session.name} ` +
    `(${session.agent}, ${session.mode})`;
  const doc = await vscode.workspace.openTextDocument({
    language: 'log',
    content: [header, '', ...lines].join('\n') + '\n',
  });
  await vscode.window.showTextDocument(doc, { preview: true });
}

/**
 * Open Control UI: leashd's page on loopback, with its token. The page answers only requests
 * addressed to 127.0.0.1 and refuses to be framed, so it opens in a browser on leashd's machine.
 * Where the editor runs in a browser elsewhere (code-server, remote), a port forward would
 * drop the token and be refused: the address is offered to copy instead.
 */
export async function openControlUi(helper: Helper): Promise<void> {
  const client = await helper.ensure();
  const ui = await client.call<{ port: number; token: string; problem: string }>('controlUi', {});
  if (!ui.port) {
    throw new Error(`Leash: the Control UI is not served: ${ui.problem || 'no reason given'}`);
  }
  const page = vscode.Uri.parse(`http://127.0.0.1:${ui.port}/`);
  const address = `${page.toString(true)}#token=${ui.token}`;
  const external = await vscode.env.asExternalUri(page);
  if (external.toString() === page.toString()) {
    await vscode.env.openExternal(vscode.Uri.parse(address, true));
    return;
  }
  const pick = await vscode.window.showInformationMessage(
    `Leash: the Control UI is at ${page.toString(true)} on the machine leashd runs on; ` +
      'open it in a browser there (its token is in the address you copy).',
    'Copy Address',
  );
  if (pick) await vscode.env.clipboard.writeText(address);
}
