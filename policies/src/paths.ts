/** Paths as policies see them: absolute, normalised, without a trailing slash. */

/** `/`, or `/a/b` with no empty, `.` or `..` component and no trailing slash. */
export function isNormalPath(p: string): boolean {
  if (p === '/') return true;
  if (!p.startsWith('/')) return false;
  for (const c of p.slice(1).split('/')) if (c === '' || c === '.' || c === '..') return false;
  return true;
}

/** The path and every directory above it, nearest first: `/a/b` → `/a/b`, `/a`, `/`. */
export function selfAndAncestors(p: string): string[] {
  const out = [p];
  let cur = p;
  while (cur !== '/') {
    const cut = cur.lastIndexOf('/');
    cur = cut === 0 ? '/' : cur.slice(0, cut);
    out.push(cur);
  }
  return out;
}

/** The last component; the empty string for `/`. */
export function nameOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Whether `p` is `dir` or lies below it, component-aware. */
export function isAtOrBelow(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}

/** The reserved roots a policy may use in `Dir` ids. */
export const ROOTS = ['@workspace', '@home'] as const;
export type Root = (typeof ROOTS)[number];

export interface Roots {
  workspace: string;
  home: string;
}

export function rootPath(root: Root, roots: Roots): string {
  return root === '@workspace' ? roots.workspace : roots.home;
}

/** `/w/a` under workspace `/w` → `@workspace/a`; the `@` forms of one directory path. */
export function atForms(dir: string, roots: Roots): string[] {
  const out: string[] = [];
  for (const root of ROOTS) {
    const base = rootPath(root, roots);
    if (isAtOrBelow(dir, base))
      out.push(root + (dir === base ? '' : dir.slice(base === '/' ? 0 : base.length)));
  }
  return out;
}
