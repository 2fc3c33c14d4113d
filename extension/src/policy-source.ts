/**
 * Which policy a session started from the editor gets, and the approvals it needs. The same
 * rules and the same approvals file as `leash run`: a workspace's own policy is used only once
 * the user approved its current text, pinned by hash outside every workspace.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PolicyChoice {
  /** `approved`: use `file`; `unapproved`: ask the user first; `default`: no policy file. */
  state: 'approved' | 'unapproved' | 'default';
  file: string;
  text?: string;
  /** For `unapproved`: whether an older version had been approved. */
  changed?: boolean;
}

export function approvalsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'leash', 'approved-policies.json');
}

export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

function readApprovals(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); fix or remove it`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${file} must hold a JSON object of policy paths to hashes; fix or remove it`);
  }
  return parsed as Record<string, string>;
}

/** The policy file the setting names: relative paths are inside the workspace folder. */
export function policyPath(workspace: string, setting: string): string {
  return path.resolve(workspace, setting || path.join('.leash', 'policy.cedar'));
}

export function choosePolicy(file: string, approvals = approvalsFile()): PolicyChoice {
  if (!fs.existsSync(file)) return { state: 'default', file };
  const text = fs.readFileSync(file, 'utf8');
  const pinned = readApprovals(approvals)[file];
  if (pinned === sha256(text)) return { state: 'approved', file, text };
  return { state: 'unapproved', file, text, changed: pinned !== undefined };
}

/** Pins `text` as the approved version of `file`. */
export function approve(file: string, text: string, approvals = approvalsFile()): void {
  const all = readApprovals(approvals);
  all[file] = sha256(text);
  fs.mkdirSync(path.dirname(approvals), { recursive: true });
  fs.writeFileSync(approvals, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
}
