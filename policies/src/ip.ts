/** IPv4 and IPv6 addresses and CIDR ranges, as bit strings, for the compiler and the evaluator. */

export interface Address {
  family: 4 | 6;
  bits: bigint;
}

export interface Cidr extends Address {
  prefix: number;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

function width(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let bits = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return null;
    bits = (bits << 8n) | BigInt(part);
  }
  return bits;
}

function parseV6(s: string): bigint | null {
  let tail: bigint | null = null;
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = parseV4(s.slice(lastColon + 1));
    if (tail === null) return null;
    text = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string | undefined): string[] => (h ? h.split(':') : []);
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let bits = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    bits = (bits << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail !== null) bits = (bits & ~0xffffffffn) | tail;
  return bits;
}

export function parseAddress(s: string): Address | null {
  if (s.includes(':')) {
    const bits = parseV6(s);
    return bits === null ? null : { family: 6, bits };
  }
  const bits = parseV4(s);
  return bits === null ? null : { family: 4, bits };
}

export function isV4Mapped(a: Address): boolean {
  return a.family === 6 && a.bits >> 32n === V4_MAPPED_PREFIX >> 32n;
}

/** Judges an IPv4-mapped IPv6 address as the IPv4 address it carries. */
export function unmap(a: Address): Address {
  return isV4Mapped(a) ? { family: 4, bits: a.bits & 0xffffffffn } : a;
}

/** `10.0.0.1/8` → 10.0.0.0/8; a bare address is a full-length range. */
export function parseCidr(s: string): Cidr | null {
  const [addr, len, extra] = s.split('/');
  if (addr === undefined || extra !== undefined) return null;
  const a = parseAddress(addr);
  if (!a) return null;
  const w = width(a.family);
  if (len !== undefined && !/^(0|[1-9][0-9]*)$/.test(len)) return null;
  const prefix = len === undefined ? w : Number(len);
  if (prefix > w) return null;
  return { family: a.family, prefix, bits: a.bits & mask(a.family, prefix) };
}

function mask(family: 4 | 6, prefix: number): bigint {
  const w = BigInt(width(family));
  return ((1n << w) - 1n) ^ ((1n << (w - BigInt(prefix))) - 1n);
}

export function cidrContains(c: Cidr, a: Address): boolean {
  return c.family === a.family && (a.bits & mask(c.family, c.prefix)) === c.bits;
}

export function formatAddress(a: Address): string {
  if (a.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((a.bits >> s) & 0xffn)).join('.');
  }
  const groups = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((a.bits >> s) & 0xffffn));
  // Compress the longest run of zero groups (two or more), as RFC 5952 asks.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c)}/${c.prefix}`;
}
