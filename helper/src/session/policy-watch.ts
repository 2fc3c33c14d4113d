/**
 * Hot reload from the host: a session started with `--policy FILE` follows that file. A new
 * version is validated and compiled aside and swapped in at every layer; a bad one is
 * refused with its diagnostics (logged and in the audit log) and the running policy stays.
 */
import { DEFAULT_POLICY_PATH } from '@leash/policies';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../log';
import { PolicyError, type Session } from './session';

const POLL_MS = 300;

/**
 * Starts following the session's policy file; returns a function that stops it. The default
 * policy and a workspace's own `.leash/policy.cedar` are not followed: the first is part of
 * Leash, and a changed workspace policy needs the user's approval again before it applies.
 */
export function followPolicyFile(session: Session, log: Logger): () => void {
  const file = session.policy.origin;
  const shipped = path.join(session.spec.workspace, '.leash', 'policy.cedar');
  if (!path.isAbsolute(file) || file === DEFAULT_POLICY_PATH || file === shipped) {
    return () => undefined;
  }
  let lastText = session.policy.text;

  const onChange = (now: fs.Stats): void => {
    if (now.nlink === 0 && now.size === 0) return; // removed (or mid-replace): keep the running one
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      log.warn('cannot read the changed policy file', { file, error: (err as Error).message });
      return;
    }
    if (text === lastText) return;
    lastText = text;
    try {
      const { oldHash, newHash } = session.applyPolicy(text, file);
      log.info('policy reloaded from its file', { file, old: oldHash, new: newHash });
    } catch (err) {
      const diagnostics = err instanceof PolicyError ? err.diagnostics : [(err as Error).message];
      log.warn('changed policy refused; the running policy stays', { file, diagnostics });
      session.recordRefusedPolicy(file, sha256(text), diagnostics);
    }
  };
  fs.watchFile(file, { interval: POLL_MS, persistent: false }, onChange);
  // The file may have changed while the session was starting.
  try {
    onChange(fs.statSync(file));
  } catch (err) {
    log.warn('cannot check the policy file', { file, error: (err as Error).message });
  }
  return () => fs.unwatchFile(file, onChange);
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
