/**
 * The file cases both backends' conformance suites run: files below a test directory, the
 * opens tried on each, and random rule sets over them (the reference is decideFile).
 */
import * as fs from 'node:fs';
import type { FileRule, PathMatcher } from '@leash/policies/dist/ir';
import { pick } from '@leash/policies/dist/random';

export const FILES = ['a/x.env', 'a/b/y.txt', 'ab/z.env', 'c/.env', 'c/w.txt', 'top.txt'];
export const OPENS = [
  { flags: 'r', read: true, write: false },
  { flags: 'a', read: false, write: true },
  { flags: 'r+', read: true, write: true },
] as const;

export function randomFileRules(next: () => number, dir: string): FileRule[] {
  const values: Array<Omit<PathMatcher, 'negate'>> = [
    { kind: 'prefix', value: '/' },
    { kind: 'prefix', value: dir },
    { kind: 'prefix', value: `${dir}/a` },
    { kind: 'prefix', value: `${dir}/a/b` },
    { kind: 'prefix', value: `${dir}/c` },
    { kind: 'exact', value: `${dir}/c/w.txt` },
    { kind: 'exact', value: `${dir}/a` },
    { kind: 'suffix', value: '.env' },
    { kind: 'suffix', value: '/.env' },
    { kind: 'suffix', value: '.txt' },
  ];
  return Array.from({ length: 1 + Math.floor(next() * 4) }, (_, i) => {
    const access = pick(next, [['read'], ['write'], ['read', 'write']] as const);
    const match = Array.from({ length: Math.floor(next() * 3) }, () => ({
      ...pick(next, values),
      negate: next() < 0.25,
    }));
    return { id: `r${i}`, effect: next() < 0.35 ? 'forbid' : 'permit', access: [...access], match };
  });
}

/**
 * The verdicts one backend's suite gave, by case (`seed N: flags file`, relative to the test
 * directory), written as JSON to LEASH_CONFORMANCE_OUT when that is set, so that the portable
 * backend's run on the host and the lsm backend's in the VM can be set side by side
 * (test/vm/lsm.test.ts).
 */
export class VerdictLog {
  private readonly verdicts: Record<string, 'allow' | 'deny'> = {};

  constructor(private readonly backend: 'portable' | 'lsm') {}

  add(seed: number, flags: string, file: string, allowed: boolean): void {
    this.verdicts[`seed ${seed}: ${flags} ${file}`] = allowed ? 'allow' : 'deny';
  }

  save(): void {
    const out = process.env.LEASH_CONFORMANCE_OUT;
    if (!out) return;
    fs.writeFileSync(out, JSON.stringify({ backend: this.backend, verdicts: this.verdicts }));
  }
}
