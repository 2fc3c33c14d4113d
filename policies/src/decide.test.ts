import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideExec, decideHttp, likeHolds, type PrincipalIR } from '.';
import { likeMatcher } from './compile/strings';
import { differential } from './differential';

/** A small seeded generator, so that a failure reproduces. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** The reference: Cedar's `like` as a regular expression over the literal parts. */
function likeByRegex(parts: string[], text: string): boolean {
  const escaped = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[\\s\\S]*')}$`).test(text);
}

const empty: PrincipalIR = { principal: 'a', files: [], connects: [], exec: [], http: [], mcp: [] };

describe('string matching', () => {
  it('likeHolds agrees with a regular expression on 50,000 random patterns and texts', () => {
    const next = generator(7);
    const alphabet = ['a', 'b', '*', ' ', '/'];
    const word = (n: number): string =>
      Array.from({ length: Math.floor(next() * n) }, () => alphabet[Math.floor(next() * 5)]).join(
        '',
      );
    for (let i = 0; i < 50_000; i++) {
      const pattern = word(6);
      const elems = [...pattern].map((c) =>
        c === '*' && next() < 0.7 ? ('Wildcard' as const) : { Literal: c },
      );
      const m = likeMatcher(elems);
      const parts = m.kind === 'like' ? m.parts : [m.value];
      const text = word(8);
      assert.equal(likeHolds(parts, text), likeByRegex(parts, text), `${pattern} ~ ${text}`);
    }
  });

  it('matches as Cedar does on 150 random `like` patterns, each against 30 random texts', () => {
    const next = generator(11);
    const alphabet = ['a', 'b', ' ', '*', '\\*', '-'];
    const pick = (n: number): string[] =>
      Array.from({ length: Math.floor(next() * n) }, () => alphabet[Math.floor(next() * 6)] ?? '');
    let requests = 0;
    for (let i = 0; i < 150; i++) {
      const pattern = pick(6).join('');
      const text = `@id("p") permit (principal, action == Leash::Action::"Exec", resource)
        when { context.args like "${pattern}" };`;
      const execs = Array.from({ length: 30 }, () => ({
        program: '/bin/x',
        argv: pick(5).map((c) => c.replace('\\', '')),
      }));
      const base = { session: 's', principals: ['a'], workspace: '/w', home: '/h' };
      const found = differential({ text, ...base, paths: [], endpoints: [], execs });
      assert.deepEqual(found.mismatches, [], pattern);
      requests += found.requests;
    }
    assert.equal(requests, 4500);
  });

  it('writes a pattern without wildcards as equality, and collapses repeated wildcards', () => {
    assert.deepEqual(likeMatcher([{ Literal: 'a' }, { Literal: '*' }]), {
      kind: 'equals',
      value: 'a*',
    });
    assert.deepEqual(likeMatcher(['Wildcard', 'Wildcard', { Literal: '.com' }]), {
      kind: 'like',
      parts: ['', '.com'],
    });
  });

  it('never lets a middle part overlap the last one', () => {
    // `a*b*b` needs two b's after the a: "ab" has one.
    assert.equal(likeHolds(['a', 'b', 'b'], 'ab'), false);
    assert.equal(likeHolds(['a', 'b', 'b'], 'abb'), true);
  });
});

describe('reference deciders', () => {
  it('judges argv as a set and args as the arguments joined by spaces', () => {
    const p: PrincipalIR = {
      ...empty,
      exec: [
        { id: 'all', effect: 'permit', match: [] },
        {
          id: 'rm',
          effect: 'forbid',
          match: [{ on: 'args', match: { kind: 'like', parts: ['', '-rf', ''] } }],
        },
        {
          id: 'both',
          effect: 'forbid',
          match: [{ on: 'argv', op: 'containsAll', values: ['x', 'y'] }],
        },
      ],
    };
    assert.deepEqual(decideExec(p, '/bin/rm', ['-rf', '/']), {
      decision: 'deny',
      policies: ['rm'],
    });
    assert.deepEqual(decideExec(p, '/bin/rm', ['-r', 'f']).decision, 'allow');
    assert.deepEqual(decideExec(p, '/bin/x', ['y', 'x', 'x']).policies, ['both']);
  });

  it('injects headers only on an allow, in policy id order, once per policy', () => {
    const header = (value: string) => ({ name: 'X-Token', value });
    const host = (value: string) => ({
      on: 'host' as const,
      match: { kind: 'equals' as const, value },
    });
    const p: PrincipalIR = {
      ...empty,
      http: [
        { id: 'z', effect: 'permit', match: [], injectHeader: header('z') },
        { id: 'a', effect: 'permit', match: [host('h')], injectHeader: header('a') },
        {
          id: 'a',
          effect: 'permit',
          match: [{ on: 'port', lo: 443, hi: 443 }],
          injectHeader: header('a'),
        },
        { id: 'no', effect: 'forbid', match: [host('bad')] },
      ],
    };
    const req = { host: 'h', port: 443, method: 'GET', path: '/' };
    assert.deepEqual(decideHttp(p, req).inject, [
      { ...header('a'), policy: 'a' },
      { ...header('z'), policy: 'z' },
    ]);
    assert.deepEqual(decideHttp(p, { ...req, host: 'bad' }), {
      decision: 'deny',
      policies: ['no'],
      inject: [],
    });
    assert.throws(() => decideHttp(p, { ...req, host: 'H' }), /lower-case/);
  });
});
