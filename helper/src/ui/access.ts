/**
 * Who may use the Control UI: a request must come to our own loopback name (no DNS rebinding),
 * carry the token leashd made at start, and, when it changes something, come from our own
 * origin as JSON (so no other page can forge it, even with a form).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';

export const TOKEN_FILE = 'ui-token';

/** A fresh random token, also written to the state directory (0600) for the CLI's `leash ui`. */
export function newToken(stateDir: string): string {
  const token = crypto.randomBytes(32).toString('base64url');
  const file = path.join(stateDir, TOKEN_FILE);
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return token;
}

/** A refusal: the HTTP status and a message for the client. */
export interface Refusal {
  status: number;
  message: string;
}

/** The names this server answers to; anything else is a rebinding attempt or a mistake. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export function checkHost(req: http.IncomingMessage, port: number): Refusal | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  if (allowedHosts(port).includes(host)) return undefined;
  return { status: 403, message: `host ${host || '(none)'} is not served here` };
}

export function checkToken(req: http.IncomingMessage, token: string): Refusal | undefined {
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  if (given && sameSecret(given, token)) return undefined;
  return {
    status: 401,
    message: 'a token is needed: open the address `leash ui` prints, with its #token=…',
  };
}

/** A state-changing request: POST, from this very origin, with a JSON body. */
export function checkChange(req: http.IncomingMessage, port: number): Refusal | undefined {
  if (req.method !== 'POST') return { status: 405, message: 'changes need POST' };
  const origin = req.headers.origin ?? '';
  const ours = allowedHosts(port).map((h) => `http://${h}`);
  if (!ours.includes(origin)) {
    return { status: 403, message: `origin ${origin || '(none)'} may not change anything here` };
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    return { status: 403, message: `a ${site} request may not change anything here` };
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    return { status: 415, message: 'changes take a JSON body (Content-Type: application/json)' };
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}
