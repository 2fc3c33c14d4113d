/** Headers on their way through the proxy: hop-by-hop ones dropped, injections applied. */
import type * as http from 'node:http';
import { expandSecrets, PLACEHOLDER_PREFIX, type SecretStore } from '../secrets/store';
import type { HttpVerdict } from './http-rules';

/** Headers of one hop only, never forwarded. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The client's headers minus hop-by-hop ones, with each injection replacing its header. */
export function upstreamHeaders(
  raw: string[],
  verdict: HttpVerdict,
  secrets: SecretStore,
): Record<string, string | string[]> {
  const injected = new Map(
    verdict.inject.map((i) => [
      i.name.toLowerCase(),
      { name: i.name, value: expandSecrets(i.value, secrets) },
    ]),
  );
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(name) || injected.has(name)) continue;
    const value = raw[i + 1] as string;
    const prior = headers[name];
    headers[name] = prior === undefined ? value : [...[prior].flat(), value];
  }
  for (const { name, value } of injected.values()) headers[name.toLowerCase()] = value;
  return headers;
}

export function placeholders(headers: Record<string, string | string[]>): string[] {
  return Object.entries(headers)
    .filter(([, v]) => [v].flat().some((x) => x.includes(PLACEHOLDER_PREFIX)))
    .map(([name]) => name);
}

export function headerNames(raw: string[]): string[] {
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) names.add((raw[i] as string).toLowerCase());
  return [...names];
}

export function forwardable(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has((raw[i] as string).toLowerCase()))
      out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

export function withoutHopByHop(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(h)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}
