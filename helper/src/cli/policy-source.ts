/** Where a session's policy comes from: --policy, else the workspace's own (if approved), else the default. */
import { DEFAULT_POLICY_PATH } from '@leash/policies';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PolicySource {
  text: string;
  origin: string;
}

/** Approved workspace policies live in the user's configuration, outside every workspace. */
export function approvalsFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'leash', 'approved-policies.json');
}

function readApprovals(): Record<string, string> {
  const file = approvalsFile();
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); fix or remove it`);
  }
}

export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

export function readPolicyFile(file: string): PolicySource {
  const abs = path.resolve(file);
  try {
    return { text: fs.readFileSync(abs, 'utf8'), origin: abs };
  } catch (err) {
    throw new Error(`cannot read policy ${abs}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/**
 * The policy a session starts with. A workspace's own policy that is not approved (or changed
 * since) is not used: the session gets the default policy and `notice` says why.
 */
export function resolvePolicy(opts: {
  policy?: string;
  workspace: string;
}): PolicySource & { notice?: string } {
  if (opts.policy) return readPolicyFile(opts.policy);
  const shipped = path.join(path.resolve(opts.workspace), '.leash', 'policy.cedar');
  if (fs.existsSync(shipped)) {
    const source = readPolicyFile(shipped);
    const pinned = readApprovals()[source.origin];
    if (pinned === sha256(source.text)) return source;
    return {
      ...readPolicyFile(DEFAULT_POLICY_PATH),
      notice:
        `${source.origin} came with the workspace and is ` +
        `${pinned ? 'changed since it was' : 'not'} approved, so the default policy applies; ` +
        `read it, then run \`leash policy approve ${source.origin}\``,
    };
  }
  return readPolicyFile(DEFAULT_POLICY_PATH);
}

export function approvePolicy(file: string): string {
  const source = readPolicyFile(file);
  const approvals = readApprovals();
  approvals[source.origin] = sha256(source.text);
  const target = approvalsFile();
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, JSON.stringify(approvals, null, 2) + '\n', { mode: 0o600 });
  return approvals[source.origin] as string;
}
