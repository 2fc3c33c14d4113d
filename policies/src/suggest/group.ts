/**
 * Grouping what needs a permit into few, readable policies: files by directory (a directory
 * with at least GROUP_AT files of one access becomes `resource in Dir`, unless that would open
 * a sensitive path), exact files otherwise; connects by address, each port exactly.
 */
import type { FileAccess } from '../ir';
import { atForms, isAtOrBelow, rootPath, ROOTS, type Roots } from '../paths';
import type { ConnectPermit, FilePermit } from './render';

export const GROUP_AT = 3;
/** Items in one policy's list (Cedar's parser has limits; see limits.ts). */
const PER_POLICY = 50;

const parentOf = (p: string): string => {
  const cut = p.lastIndexOf('/');
  return cut <= 0 ? '/' : p.slice(0, cut);
};

const depth = (p: string): number => (p === '/' ? 0 : p.split('/').length - 1);

/** The `Dir` id for a real directory: the `@` form of the closest root, else the path. */
export function dirId(dir: string, roots: Roots): string {
  const forms = atForms(dir, roots);
  if (forms.length === 0) return dir;
  const closest = (form: string): number =>
    rootPath(ROOTS.find((r) => form === r || form.startsWith(r + '/')) ?? '@workspace', roots)
      .length;
  return forms.reduce((best, f) => (closest(f) > closest(best) ? f : best));
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += PER_POLICY) out.push(items.slice(i, i + PER_POLICY));
  return out;
}

/**
 * File permits for one principal and access. `mayOpen(dir)` says whether a directory may be
 * permitted as a whole (it would open no sensitive path the base leaves unforbidden).
 */
export function groupFiles(
  principal: string,
  access: FileAccess,
  paths: string[],
  roots: Roots,
  mayOpen: (dir: string) => boolean,
): Array<Omit<FilePermit, 'id'>> {
  const byParent = new Map<string, string[]>();
  for (const p of [...new Set(paths)].sort()) {
    const parent = parentOf(p);
    byParent.set(parent, [...(byParent.get(parent) ?? []), p]);
  }

  // Shallowest first, so a directory absorbs the groups below it.
  const groups: string[] = [];
  const candidates = [...byParent.keys()]
    .filter((d) => d !== '/' && (byParent.get(d)?.length ?? 0) >= GROUP_AT)
    .sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  for (const dir of candidates) {
    if (groups.some((g) => isAtOrBelow(dir, g))) continue;
    if (mayOpen(dir)) groups.push(dir);
  }

  const out: Array<Omit<FilePermit, 'id'>> = [];
  const grouped = new Map<string, string[]>(groups.map((g) => [g, []]));
  const exact = new Map<string, string[]>();
  for (const p of [...new Set(paths)].sort()) {
    const group = groups.find((g) => isAtOrBelow(p, g));
    if (group) grouped.get(group)?.push(p);
    else exact.set(parentOf(p), [...(exact.get(parentOf(p)) ?? []), p]);
  }
  for (const [dir, files] of grouped) {
    out.push({ kind: 'file', principal, access, dir: dirId(dir, roots), files, where: dir });
  }
  for (const [where, files] of exact) {
    for (const part of chunks(files))
      out.push({ kind: 'file', principal, access, files: part, where });
  }
  return out.sort((a, b) => a.where.localeCompare(b.where));
}

/** Connect permits for one principal: one per address, listing its ports. */
export function groupConnects(
  principal: string,
  endpoints: Array<{ ip: string; port: number }>,
): Array<Omit<ConnectPermit, 'id'>> {
  const byIp = new Map<string, Set<number>>();
  for (const { ip, port } of endpoints) byIp.set(ip, (byIp.get(ip) ?? new Set()).add(port));
  const out: Array<Omit<ConnectPermit, 'id'>> = [];
  for (const [ip, ports] of [...byIp].sort(([a], [b]) => a.localeCompare(b))) {
    for (const part of chunks([...ports].sort((a, b) => a - b))) {
      out.push({ kind: 'connect', principal, ip, ports: part });
    }
  }
  return out;
}
