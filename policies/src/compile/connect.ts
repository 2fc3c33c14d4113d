/** Connect conditions → address ranges (CIDR) and port ranges. */
import type { Expr } from '@cedar-policy/cedar-wasm/nodejs';
import type { ConnectMatcher } from '../ir';
import { formatCidr, isV4Mapped, parseCidr } from '../ip';
import type { AtomCompiler } from './condition';
import { CompileError } from './errors';
import { binary, ipLiteral, isVar, nodeOf, resourceAttr } from './expr';
import { atom, FALSE, not, or, TRUE, type Formula } from './formula';
import { portComparison } from './ports';

type F = Formula<ConnectMatcher>;

const negate = (m: ConnectMatcher): ConnectMatcher => ({ ...m, negate: !m.negate });

/** Cedar's address classes, as ranges. */
const CLASSES: Record<string, string[]> = {
  isLoopback: ['127.0.0.0/8', '::1/128'],
  isIpv4: ['0.0.0.0/0'],
  isIpv6: ['::/0'],
  isMulticast: ['224.0.0.0/4', 'ff00::/8'],
};

function cidrs(list: string[]): F {
  return list.reduce<F>((acc, cidr) => or(acc, atom({ kind: 'cidr', cidr })), FALSE);
}

/** Parses the argument of `ip("…")`, refusing what the kernel would judge differently. */
function range(text: string, at: Expr): string {
  const cidr = parseCidr(text);
  if (!cidr) {
    throw new CompileError('bad-ip', `"${text}" is not an IP address or CIDR range.`, at);
  }
  if (isV4Mapped(cidr) && cidr.prefix >= 96) {
    throw new CompileError(
      'ipv4-mapped',
      `"${text}" is an IPv4-mapped IPv6 address; Leash judges those as the IPv4 address they ` +
        'carry, so write the IPv4 form instead.',
      at,
    );
  }
  return formatCidr(cidr);
}

function unsupported(e: Expr): CompileError {
  return new CompileError(
    'unsupported-expression',
    'this condition cannot be enforced on connects. The compiler understands ' +
      '`resource.ip.isInRange(ip("…"))`, `resource.ip == ip("…")`, ' +
      '`resource.ip.isLoopback()`, ' +
      '`isIpv4()`, `isIpv6()`, `isMulticast()` and comparisons of ' +
      '`resource.port` with a number, joined with `&&`, `||` and `!`.',
    e,
  );
}

/** `resource.ip == ip("…")` or `!=`, either way round. */
function ipEquality(e: Expr, op: '==' | '!=', left: Expr, right: Expr): F {
  const [subject, other] = resourceAttr(left) === null ? [right, left] : [left, right];
  const attr = resourceAttr(subject);
  const address = ipLiteral(other);
  if (attr === 'ip' && address !== null) {
    if (address.includes('/')) {
      throw new CompileError(
        'ip-equals-range',
        `\`resource.ip == ip("${address}")\` compares an address with a range: ` +
          `write \`resource.ip.isInRange(ip("${address}"))\`.`,
        e,
      );
    }
    const cidr = range(address, other);
    const f = atom<ConnectMatcher>({ kind: 'cidr', cidr });
    return op === '==' ? f : not(f, negate);
  }
  throw unsupported(e);
}

export function connectAtoms(): AtomCompiler<ConnectMatcher> {
  const atomOf = (e: Expr): F => {
    const n = nodeOf(e);
    const port = portComparison<ConnectMatcher>(
      e,
      (x) => resourceAttr(x) === 'port',
      (lo, hi) => ({ kind: 'port', lo, hi }),
      negate,
    );
    if (port) return port;
    for (const op of ['==', '!='] as const) {
      const b = binary(e, op);
      if (b) return ipEquality(e, op, b.left, b.right);
    }
    if (Array.isArray(n.body)) {
      const [receiver, arg, extra] = n.body as Expr[];
      const onIp = receiver !== undefined && resourceAttr(receiver) === 'ip';
      const classes = CLASSES[n.op];
      if (onIp && classes && arg === undefined) return cidrs(classes);
      const address = arg ? ipLiteral(arg) : null;
      if (onIp && n.op === 'isInRange' && arg && address !== null && extra === undefined) {
        return atom({ kind: 'cidr', cidr: range(address, arg) });
      }
    }
    if (n.op === 'is') {
      const b = n.body as { left: Expr; entity_type: string; in?: Expr };
      if (isVar(b.left, 'resource') && !b.in)
        return b.entity_type === 'Leash::Endpoint' ? TRUE : FALSE;
    }
    throw unsupported(e);
  };
  return { subject: 'connects', atom: atomOf, negate };
}
