/** The `leash.*` settings, read fresh on each use so a change applies without a reload. */
import * as vscode from 'vscode';
import { AGENTS, MODES, type Agent, type Mode } from './wire';

export const DEFAULT_SOCKET = '/run/leash/leashd.sock';

function section(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('leash');
}

export function socketPath(): string {
  return section().get<string>('socketPath') || process.env.LEASH_SOCKET || DEFAULT_SOCKET;
}

export function defaultAgent(): Agent {
  const agent = section().get<string>('defaultAgent', 'shell');
  return (AGENTS as readonly string[]).includes(agent) ? (agent as Agent) : 'shell';
}

export function policyFileSetting(): string {
  return section().get<string>('policyFile', '.leash/policy.cedar');
}

export function mode(): Mode {
  const m = section().get<string>('mode', 'enforce');
  return (MODES as readonly string[]).includes(m) ? (m as Mode) : 'enforce';
}

export function startHelperOnDemand(): boolean {
  return section().get<boolean>('startHelper', true);
}

export function cliPath(): string {
  return section().get<string>('cliPath') || 'leash';
}

/** The workspace folder sessions run in: the first one (Leash sandboxes one folder). */
export function workspaceFolder(): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.[0];
}
