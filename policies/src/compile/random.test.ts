import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from '.';
import { differential } from '../differential';
import { ENDPOINTS, PATHS } from '../requests';

/** A small seeded generator, so that a failure reproduces. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return { next, pick };
}

type Gen = ReturnType<typeof generator>;

const FILE_ATOMS = [
  ...[
    '/',
    '/workspace',
    '/work',
    '@workspace',
    '@workspace/.git',
    '@home',
    '@home/.ssh',
    '/tmp',
  ].map((d) => `resource in Leash::Dir::"${d}"`),
  'resource == Leash::File::"/workspace/.env"',
  'resource.path == "/tmp/a.txt"',
  ...['.env', '/.env', 'txt', '/config', 'a'].map((s) => `resource.path like "*${s}"`),
  ...['/workspace/', '/tmp/', '/home/agent/'].map((d) => `resource.path like "${d}*"`),
  ...['config', '.env', 'hooks'].map((n) => `resource.name == "${n}"`),
  ...['.env', 'rc', 'x'].map((s) => `resource.name like "*${s}"`),
  'true',
  'false',
];

const CONNECT_ATOMS = [
  ...['10.0.0.0/8', '127.0.0.0/16', '192.168.1.0/24', 'fd00::/8', '::/0', '0.0.0.0/0'].map(
    (c) => `resource.ip.isInRange(ip("${c}"))`,
  ),
  ...['8.8.8.8', '::1', '10.0.0.1'].map((a) => `resource.ip == ip("${a}")`),
  ...['isLoopback', 'isIpv4', 'isIpv6', 'isMulticast'].map((m) => `resource.ip.${m}()`),
  ...['==', '!=', '<', '<=', '>', '>='].flatMap((op) =>
    [22, 443, 1024].map((n) => `resource.port ${op} ${n}`),
  ),
];

function condition(g: Gen, atoms: string[], depth: number): string {
  const r = g.next();
  if (depth === 0 || r < 0.4) return g.pick(atoms);
  if (r < 0.55) return `!(${condition(g, atoms, depth - 1)})`;
  const op = r < 0.8 ? '&&' : '||';
  return `(${condition(g, atoms, depth - 1)} ${op} ${condition(g, atoms, depth - 1)})`;
}

function policySet(g: Gen, kind: 'file' | 'connect'): string {
  const policies = ['@id("exec") permit (principal, action == Leash::Action::"Exec", resource);'];
  const count = 2 + Math.floor(g.next() * 4);
  for (let i = 0; i < count; i++) {
    const effect = g.pick(['permit', 'permit', 'forbid']);
    const action =
      kind === 'connect'
        ? 'action == Leash::Action::"Connect"'
        : g.pick([
            'action == Leash::Action::"ReadFile"',
            'action == Leash::Action::"WriteFile"',
            'action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"]',
          ]);
    const resource =
      kind === 'connect'
        ? 'resource'
        : g.pick(['resource', 'resource in Leash::Dir::"@workspace"', 'resource is Leash::File']);
    const atoms = kind === 'file' ? FILE_ATOMS : CONNECT_ATOMS;
    const clauses = [0, 1]
      .filter(() => g.next() < 0.6)
      .map(() => `${g.pick(['when', 'unless'])} { ${condition(g, atoms, 3)} }`);
    policies.push(
      `@id("p${i}") ${effect} (principal, ${action}, ${resource}) ${clauses.join(' ')};`,
    );
  }
  return policies.join('\n');
}

const ROOTS = { session: 's', principals: ['a'], workspace: '/workspace', home: '/home/agent' };

/** Compares `seeds` random policy sets with Cedar; returns how many compiled and requests. */
function checkRandom(
  kind: 'file' | 'connect',
  seeds: number,
): { compared: number; requests: number } {
  let compared = 0;
  let requests = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const text = policySet(generator(seed), kind);
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
});
