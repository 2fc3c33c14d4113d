/**
 * Entry point: wires the helper connection, the commands, the Leash view, the status bar and the
 * language client.
 */
import * as vscode from 'vscode';
import * as config from './config';
import { Helper, report } from './helper';
import { LiveEvents } from './live-events';
import { startLanguageClient } from './language-client';
import { log } from './log';
import { applyPolicy, policyFromEvent, suggestPolicy } from './policy-actions';
import { AGENT_TITLES, runAgent } from './run';
import {
  openControlUi,
  pickSession,
  showEvents,
  stopSession,
  switchMode,
} from './session-commands';
import { SessionsView, type Node } from './sidebar';
import { statusBar } from './status-bar';
import { AGENTS, type Agent } from './wire';

export function activate(context: vscode.ExtensionContext): void {
  const helper = new Helper();
  const live = new LiveEvents(helper);
  const lsp = startLanguageClient(context);
  context.subscriptions.push(log, helper, live, statusBar(live));

  const view = vscode.window.createTreeView('leash.sessions', {
    treeDataProvider: new SessionsView(live),
    showCollapseAll: true,
  });
  context.subscriptions.push(view);

  /** Registers a command whose failures become notifications, never exceptions in the host. */
  const command = (id: string, fn: (...args: never[]) => Promise<unknown>): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          await report(err, helper);
          return undefined;
        }
      }),
    );
  };

  const run = async (agent: Agent): Promise<{ session: string } | undefined> => {
    const result = await runAgent(helper, agent, (session, code) => {
      log.info(`session ${session} ended with exit code ${code ?? 'unknown'}`);
      void live.refresh();
    });
    await live.refresh(true);
    return result && { session: result.session.name };
  };
  for (const agent of AGENTS) command(`leash.run${AGENT_TITLES[agent]}`, () => run(agent));
  command('leash.run', () => run(config.defaultAgent()));

  const onSession =
    (fn: (s: NonNullable<Awaited<ReturnType<typeof pickSession>>>) => Promise<void>) =>
    async (node?: Node): Promise<void> => {
      const session = await pickSession(helper, node);
      if (session) await fn(session);
      await live.refresh(true);
    };
  command(
    'leash.stopSession',
    onSession((s) => stopSession(helper, s)),
  );
  command(
    'leash.switchMode',
    onSession((s) => switchMode(helper, s)),
  );
  command(
    'leash.showEvents',
    onSession((s) => showEvents(helper, s)),
  );
  command(
    'leash.applyPolicy',
    onSession((s) => applyPolicy(helper, s.name)),
  );
  command(
    'leash.suggestPolicy',
    onSession((s) => suggestPolicy(s)),
  );
  command('leash.openControlUi', () => openControlUi(helper));
  command('leash.startHelper', async () => {
    await helper.start();
    void live.refresh();
    void vscode.window.showInformationMessage(
      `Leash: leashd is running on ${config.socketPath()}.`,
    );
  });

  const fromEvent = (decision: 'allow' | 'deny') => async (node?: Node) => {
    const event = node?.type === 'event' ? node.event : await pickEvent(live, decision);
    if (!event) return;
    const session = live.model.get(event.session)?.info;
    await policyFromEvent(
      lsp,
      helper,
      event,
      decision,
      live.model.get(event.session)?.running ? session : undefined,
    );
    await live.refresh(true);
  };
  command('leash.allowThis', fromEvent('allow'));
  command('leash.denyThis', fromEvent('deny'));

  command('leash.filterDenied', async () => {
    live.model.filters = { ...live.model.filters, deniedOnly: !live.model.filters.deniedOnly };
    await live.refresh(true);
  });
  command('leash.filterKinds', async () => {
    const kinds = live.model.kinds();
    const picked = await vscode.window.showQuickPick(
      kinds.map((k) => ({ label: k, picked: live.model.filters.kinds.includes(k) })),
      { canPickMany: true, placeHolder: 'Show events of these kinds (none: every kind)' },
    );
    if (!picked) return;
    live.model.filters = { ...live.model.filters, kinds: picked.map((p) => p.label) };
    await live.refresh(true);
  });

  live.start();
  log.info(`activated; leashd socket ${config.socketPath()}`);
}

/** Allow This / Deny This from the palette: pick one of the recent events shown in the view. */
async function pickEvent(live: LiveEvents, decision: 'allow' | 'deny') {
  const events = live.model
    .list()
    .flatMap((s) => [...s.principals.keys()].flatMap((p) => live.model.events(s.name, p)))
    .filter((e) => (decision === 'allow' ? e.decision !== 'allow' : e.decision === 'allow'))
    .filter((e) => e.kind === 'file' || e.kind === 'net')
    .sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)))
    .slice(0, 200);
  if (events.length === 0) {
    throw new Error(
      `Leash: no recent ${decision === 'allow' ? 'denied' : 'allowed'} file or connect event ` +
        `to ${decision}.`,
    );
  }
  const pick = await vscode.window.showQuickPick(
    events.map((e) => ({
      label: `${e.action} ${e.resource}`,
      description: `${e.decision} · ${e.principal} · ${e.session}`,
      event: e,
    })),
    { placeHolder: `${decision === 'allow' ? 'Allow' : 'Deny'} which event from now on?` },
  );
  return pick?.event;
}
