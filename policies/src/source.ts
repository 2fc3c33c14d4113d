/**
 * A light tokenizer for Cedar policy text. Cedar's JSON form of a policy carries no source
 * positions, so diagnostics about a policy, or an expression inside it, find their range here.
 */
import type { Range } from './diagnostics';

export interface Token {
  kind: 'ident' | 'string' | 'number' | 'punct';
  /** The token as written (for strings: the text between the quotes, escapes untouched). */
  text: string;
  /** For strings: the decoded value. */
  value: string;
  start: number;
  end: number;
}

/** One policy of a policy set, as located in the text. */
export interface PolicySource {
  /** From the first annotation (or the effect) to the closing `;`. */
  range: Range;
  /** The `@id("…")` annotation, or the effect keyword when there is none. */
  head: Range;
  tokens: Token[];
  /** The tokens after the scope: the `when`/`unless` conditions. */
  conditions: Token[];
  text: string;
}

const TWO_CHAR = new Set(['::', '==', '!=', '<=', '>=', '&&', '||']);

const isIdentStart = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** ASCII whitespace by code, anything else by Cedar's (Unicode) rule. */
const isSpace = (c: number, ch: string): boolean =>
  c === 32 || c === 10 || c === 9 || c === 13 || (c > 127 && /\s/.test(ch));

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const ch = text[i] ?? '';
    if (isSpace(c, ch) || c === 11 || c === 12) {
      i++;
    } else if (c === 47 && text.charCodeAt(i + 1) === 47) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (isIdentStart(c)) {
      const start = i;
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (!(isIdentStart(d) || isDigit(d))) break;
        i++;
      }
      const word = text.slice(start, i);
      tokens.push({ kind: 'ident', text: word, value: word, start, end: i });
    } else if (isDigit(c)) {
      const start = i;
      while (i < text.length && isDigit(text.charCodeAt(i))) i++;
      const digits = text.slice(start, i);
      tokens.push({ kind: 'number', text: digits, value: digits, start, end: i });
    } else if (c === 34) {
      const start = i;
      i++;
      while (i < text.length && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
      const raw = text.slice(start + 1, Math.min(i, text.length));
      i++;
      const value = raw.includes('\\') ? unescape(raw) : raw;
      tokens.push({ kind: 'string', text: raw, value, start, end: i });
    } else {
      const pair = text.slice(i, i + 2);
      const punct = TWO_CHAR.has(pair) ? pair : ch;
      tokens.push({ kind: 'punct', text: punct, value: punct, start: i, end: i + punct.length });
      i += punct.length;
    }
  }
  return tokens;
}

function unescape(raw: string): string {
  return raw.replace(/\\(u\{([0-9a-fA-F]+)\}|x([0-9a-fA-F]{2})|.)/g, (_m, esc: string, u, x) => {
    if (u) return String.fromCodePoint(parseInt(u as string, 16));
    if (x) return String.fromCharCode(parseInt(x as string, 16));
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0' };
    return simple[esc] ?? esc;
  });
}

/** Splits a policy set that Cedar parsed successfully into its policies, in order. */
export function splitPolicies(text: string, all: Token[] = tokenize(text)): PolicySource[] {
  const policies: PolicySource[] = [];
  let current: Token[] = [];
  for (const token of all) {
    current.push(token);
    if (token.kind === 'punct' && token.text === ';') {
      policies.push(toPolicy(text, current));
      current = [];
    }
  }
  return policies;
}

function toPolicy(text: string, tokens: Token[]): PolicySource {
  const first = tokens[0] as Token;
  const last = tokens[tokens.length - 1] as Token;
  const range = { start: first.start, end: last.end };
  const own = text.slice(range.start, range.end);
  return { range, head: headOf(tokens), tokens, conditions: afterScope(tokens), text: own };
}

function afterScope(tokens: Token[]): Token[] {
  const open = tokens.findIndex((t) => t.text === 'permit' || t.text === 'forbid') + 1;
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind !== 'punct') continue;
    if (t.text === '(' || t.text === '[') depth++;
    if (t.text === ')' || t.text === ']') depth--;
    if (depth === 0) return tokens.slice(i + 1);
  }
  return [];
}

function headOf(tokens: Token[]): Range {
  for (let i = 0; i + 4 < tokens.length; i++) {
    const at = tokens[i] as Token;
    if (at.text === '@' && tokens[i + 1]?.text === 'id' && tokens[i + 4]?.text === ')') {
      return { start: at.start, end: (tokens[i + 4] as Token).end };
    }
  }
  const effect = tokens.find((t) => t.text === 'permit' || t.text === 'forbid') ?? tokens[0];
  return effect ? { start: effect.start, end: effect.end } : { start: 0, end: 0 };
}

/** One element of a token pattern: a token's text, or a string literal (any, or by value). */
export type PatternElem = string | { string: string | null };

/** The range of the first run of tokens matching `pattern`, or null. */
export function findTokens(tokens: Token[], pattern: PatternElem[]): Range | null {
  if (pattern.length === 0) return null;
  for (let i = 0; i + pattern.length <= tokens.length; i++) {
    const ok = pattern.every((p, k) => {
      const t = tokens[i + k] as Token;
      if (typeof p === 'string') return t.kind !== 'string' && t.text === p;
      return t.kind === 'string' && (p.string === null || t.value === p.string);
    });
    if (ok) {
      return {
        start: (tokens[i] as Token).start,
        end: (tokens[i + pattern.length - 1] as Token).end,
      };
    }
  }
  return null;
}
