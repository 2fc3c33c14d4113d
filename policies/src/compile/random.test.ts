import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from '.';
import { differential } from '../differential';
import { ENDPOINTS, EXECS, HTTP_REQUESTS, MCP_CALLS, PATHS } from '../requests';
import { generator, policySet, type Kind } from './random-policies';
import { randomExecs, randomHttp, randomMcp } from './random-requests';

const ROOTS = { session: 's', principals: ['a'], workspace: '/workspace', home: '/home/agent' };

/** Compares `seeds` random policy sets with Cedar; returns how many compiled and requests. */
function checkRandom(kind: Kind, seeds: number): { compared: number; requests: number } {
  let compared = 0;
  let requests = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const g = generator(seed);
    const text = policySet(g, kind);
    const compiled = compilePolicy(text, 'random.cedar', ROOTS);
    if (!compiled.ok) {
      // Deep negations can expand past the rule limit; that refusal is the only one allowed.
      assert.deepEqual(new Set(compiled.diagnostics.map((d) => d.code)), new Set(['too-complex']));
      continue;
    }
    compared++;
    const { mismatches, requests: made } = differential({
      text,
      ...ROOTS,
      paths: kind === 'file' ? PATHS : [],
      endpoints: kind === 'connect' ? ENDPOINTS : [],
      // The fixed requests, and as many again generated from this seed.
      execs: kind === 'exec' ? [...EXECS, ...randomExecs(g, EXECS.length)] : [],
      http: kind === 'http' ? [...HTTP_REQUESTS, ...randomHttp(g, HTTP_REQUESTS.length)] : [],
      mcp: kind === 'mcp' ? [...MCP_CALLS, ...randomMcp(g, 3 * MCP_CALLS.length)] : [],
    });
    assert.deepEqual(mismatches.slice(0, 3), [], `seed ${seed}:\n${text}`);
    requests += made;
  }
  console.log(`${kind}: ${compared} random policy sets, ${requests} requests compared with Cedar`);
  return { compared, requests };
}

describe('random policies', () => {
  it('decide file requests exactly as Cedar does', () => {
    const { compared, requests } = checkRandom('file', 30);
    assert.ok(compared >= 22 && requests >= 14_000);
  });
  it('decide connect requests exactly as Cedar does', () => {
    const { compared, requests } = checkRandom('connect', 80);
    assert.ok(compared >= 55 && requests >= 11_000);
  });
  it('decide Exec requests exactly as Cedar does', () => {
    const { compared, requests } = checkRandom('exec', 60);
    assert.ok(compared >= 40 && requests >= 8_000);
  });
  it('decide HTTP requests exactly as Cedar does', () => {
    const { compared, requests } = checkRandom('http', 60);
    assert.ok(compared >= 40 && requests >= 8_000);
  });
  it('decide MCP calls exactly as Cedar does', () => {
    const { compared, requests } = checkRandom('mcp', 100);
    assert.ok(compared >= 70 && requests >= 6_000);
  });
});
