/**
 * `Leash: Run Claude` … `Leash: Run Shell`: a new session for the workspace folder, with the
 * workspace's policy once approved (else the default), attached to an integrated terminal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import * as config from './config';
import type { Helper } from './helper';
import { log } from './log';
import { approve, choosePolicy, policyPath } from './policy-source';
import { SessionTerminal } from './terminal';
import type { Agent, SessionInfo } from './wire';

/** The default policy, copied next to the bundle by build.mjs from policies/default.cedar. */
const DEFAULT_POLICY = path.join(__dirname, 'default.cedar');
export const DEFAULT_ORIGIN = 'builtin:default';

/** Variables the sandbox may get from the editor's environment (leashd filters again). */
const CALLER_ENV: Record<Agent, string[]> = {
  claude: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL', 'ANTHROPIC_SMALL_FAST_MODEL'],
  codex: ['OPENAI_BASE_URL'],
  gemini: ['GOOGLE_GEMINI_BASE_URL', 'GEMINI_MODEL'],
  qwen: ['OPENAI_BASE_URL', 'OPENAI_MODEL'],
  opencode: [],
  shell: [],
};
const TERMINAL_ENV = ['LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ'];

export const AGENT_TITLES: Record<Agent, string> = {
  claude: 'Claude',
  codex: 'Codex',
  gemini: 'Gemini',
  qwen: 'Qwen',
  opencode: 'OpenCode',
  shell: 'Shell',
};

/** The policy to start with; undefined when the user cancelled the approval question. */
async function sessionPolicy(
  workspace: string,
): Promise<{ text: string; origin: string } | undefined> {
  const file = policyPath(workspace, config.policyFileSetting());
  const choice = choosePolicy(file);
  if (choice.state === 'approved') return { text: choice.text as string, origin: file };
  const fallback = { text: fs.readFileSync(DEFAULT_POLICY, 'utf8'), origin: DEFAULT_ORIGIN };
  if (choice.state === 'default') return fallback;

  const why = choice.changed ? 'has changed since you approved it' : 'is not approved yet';
  const pick = await vscode.window.showWarningMessage(
    `Leash: the policy ${file} ${why}. A policy that came with a workspace decides what the ` +
      'agent may do, so read it before approving it.',
    { modal: true },
    'Approve and Use',
    'Use the Default Policy',
  );
  if (pick === 'Approve and Use') {
    approve(file, choice.text as string);
    return { text: choice.text as string, origin: file };
  }
  return pick === 'Use the Default Policy' ? fallback : undefined;
}

export interface RunResult {
  session: SessionInfo;
  terminal: vscode.Terminal;
}

export async function runAgent(
  helper: Helper,
  agent: Agent,
  onExit: (session: string, code: number | undefined) => void,
): Promise<RunResult | undefined> {
  const folder = config.workspaceFolder();
  if (!folder || folder.uri.scheme !== 'file') {
    throw new Error('Leash: open a folder first; a session sandboxes one workspace folder.');
  }
  const workspace = folder.uri.fsPath;
  const policy = await sessionPolicy(workspace);
  if (!policy) return undefined;
  const client = await helper.ensure();

  const env: Record<string, string> = { TERM: 'xterm-256color', COLORTERM: 'truecolor' };
  for (const key of [...TERMINAL_ENV, ...CALLER_ENV[agent]]) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  const session = await client.call<SessionInfo>(
    'createSession',
    {
      name: '',
      agent,
      workspace,
      mode: config.mode(),
      policyText: policy.text,
      policyOrigin: policy.origin,
      command: [],
      env,
    },
    180_000,
  );
  log.info(`session ${session.name}: ${agent} in ${workspace}, policy ${policy.origin}`);

  const pty = new SessionTerminal(client, session.name, onExit);
  const terminal = vscode.window.createTerminal({
    name: `Leash: ${AGENT_TITLES[agent]} (${session.name})`,
    pty,
    iconPath: new vscode.ThemeIcon('shield'),
  });
  terminal.show();
  return { session, terminal };
}
