import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPolicy, compilePolicy } from '..';
import { generator, policySet, type Kind } from '../compile/random-policies';
import { randomExecs, randomHttp, randomMcp } from '../compile/random-requests';
import { decideConnect, decideExec, decideFile, decideHttp, decideMcp } from '../decide';
import type { PrincipalIR, Verdict } from '../ir';
import { ENDPOINTS, EXECS, HTTP_REQUESTS, MCP_CALLS, PATHS } from '../requests';

const SESSION = { session: 's', principals: ['a'], workspace: '/workspace', home: '/home/agent' };

/** Every request of a kind, decided by `p`. */
function verdicts(kind: Kind, p: PrincipalIR, seed: number): Verdict[] {
  const g = generator(seed + 1000);
  switch (kind) {
    case 'file':
      return PATHS.flatMap((path) => [decideFile(p, path, 'read'), decideFile(p, path, 'write')]);
    case 'connect':
      return ENDPOINTS.map((e) => decideConnect(p, e.ip, e.port));
    case 'exec':
      return [...EXECS, ...randomExecs(g, 200)].map((e) => decideExec(p, e.program, e.argv));
    case 'http':
      return [...HTTP_REQUESTS, ...randomHttp(g, 200)].map((r) => decideHttp(p, r));
    case 'mcp':
      return [...MCP_CALLS, ...randomMcp(g, 200)].map((c) => decideMcp(p, c));
  }
}

/** Only the rules of policy `id`, all as permits: a request allowed here matches the policy. */
function only(p: PrincipalIR, id: string): PrincipalIR {
  const mine = <R extends { id: string }>(rules: R[]) =>
    rules.filter((r) => r.id === id).map((r) => ({ ...r, effect: 'permit' as const }));
  return {
    ...p,
    files: mine(p.files),
    connects: mine(p.connects),
    exec: mine(p.exec),
    http: mine(p.http),
    mcp: mine(p.mcp),
  };
}

describe('lint findings on random policy sets are never guesses', () => {
  for (const kind of ['file', 'connect', 'exec', 'http', 'mcp'] as const) {
    it(`holds L001 and L002 against the decisions on ${kind} requests`, () => {
      let findings = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const text = policySet(generator(seed), kind);
        const checked = checkPolicy(text, 'random.cedar');
        const ir = compilePolicy(text, 'random.cedar', SESSION).ir?.principals.a;
        if (!checked.ok || !ir) continue;
        for (const d of checked.diagnostics) {
          const shadowed = /^permit "([^"]+)" never allows anything/.exec(d.message)?.[1];
          const never = /^(?:permit|forbid) "([^"]+)" can never match/.exec(d.message)?.[1];
          if (shadowed) {
            findings++;
            const allowedBy: Verdict[] = verdicts(kind, ir, seed).filter(
              (v) => v.decision === 'allow' && v.policies.includes(shadowed),
            );
            assert.deepEqual(allowedBy, [], `seed ${seed}: ${d.message}\n${text}`);
          }
          if (never) {
            findings++;
            const matched: Verdict[] = verdicts(kind, only(ir, never), seed).filter(
              (v) => v.decision === 'allow',
            );
            assert.deepEqual(matched, [], `seed ${seed}: ${d.message}\n${text}`);
          }
        }
      }
      console.log(`${kind}: ${findings} L001/L002 findings held against the decisions`);
    });
  }
});
