/**
 * The "Leash" activity-bar view: sessions ▸ principals ▸ events, newest first. Denials carry an
 * error icon and the deciding policy in their tooltip; every string from an event is plain text.
 */
import * as vscode from 'vscode';
import { eventDescription, eventLabel, eventTooltip } from './event-text';
import type { LiveEvents } from './live-events';
import type { AuditEvent } from './wire';

export type Node =
  | { type: 'session'; session: string }
  | { type: 'principal'; session: string; principal: string }
  | { type: 'event'; event: AuditEvent };

export class SessionsView implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly live: LiveEvents) {
    live.onDidChange(() => this.changed.fire(undefined));
  }

  getChildren(node?: Node): Node[] {
    const model = this.live.model;
    if (!node) return model.list().map((s) => ({ type: 'session', session: s.name }));
    if (node.type === 'session') {
      const principals = [...(model.get(node.session)?.principals.keys() ?? [])];
      return principals.map((principal) => ({
        type: 'principal',
        session: node.session,
        principal,
      }));
    }
    if (node.type === 'principal') {
      return model.events(node.session, node.principal).map((event) => ({ type: 'event', event }));
    }
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const model = this.live.model;
    if (node.type === 'session') {
      const entry = model.get(node.session);
      const info = entry?.info;
      const item = new vscode.TreeItem(node.session, vscode.TreeItemCollapsibleState.Expanded);
      item.description = entry?.running
        ? `${info?.agent ?? ''} · ${info?.mode ?? ''} · ${info?.denials ?? 0} denied`
        : 'ended';
      item.tooltip = info
        ? `session ${info.name}\nagent: ${info.agent}\nmode: ${info.mode}\n` +
          `workspace: ${info.workspace}\npolicy: ${info.policyOrigin}`
        : `session ${node.session} (ended)`;
      item.iconPath = new vscode.ThemeIcon(entry?.running ? 'vm-running' : 'vm-outline');
      item.contextValue = entry?.running ? 'session-running' : 'session-ended';
      item.id = `session:${node.session}`;
      return item;
    }
    if (node.type === 'principal') {
      const events = model.events(node.session, node.principal);
      const denied = events.filter((e) => e.decision === 'deny').length;
      const item = new vscode.TreeItem(node.principal, vscode.TreeItemCollapsibleState.Expanded);
      item.description = `${events.length} events${denied ? `, ${denied} denied` : ''}`;
      item.iconPath = new vscode.ThemeIcon('account');
      item.contextValue = 'principal';
      item.id = `principal:${node.session}/${node.principal}`;
      return item;
    }
    const e = node.event;
    const item = new vscode.TreeItem(eventLabel(e), vscode.TreeItemCollapsibleState.None);
    item.description = eventDescription(e);
    item.tooltip = eventTooltip(e);
    item.iconPath =
      e.decision === 'deny'
        ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
        : e.decision === 'would-deny'
          ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('editorWarning.foreground'))
          : new vscode.ThemeIcon('pass');
    item.contextValue = `event-${e.decision}`;
    item.id = `event:${e.id}`;
    item.accessibilityInformation = { label: `${e.decision} ${eventLabel(e)}` };
    return item;
  }
}
