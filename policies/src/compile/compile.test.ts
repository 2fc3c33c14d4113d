import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from '..';
import { differential } from '../differential';
import { ENDPOINTS, PATHS } from '../requests';

const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';
const roots = { workspace: '/workspace', home: '/home/agent' };

/** Compiles for claude, codex and an unnamed agent of session s1, then holds it against Cedar. */
function agreesWithCedar(text: string, endpoints = ENDPOINTS): void {
  const { mismatches } = differential({
    text: EXEC + text,
    session: 's1',
    principals: ['claude', 'codex', 'other'],
    ...roots,
    paths: PATHS,
    endpoints,
  });
  assert.deepEqual(mismatches, []);
}

describe('compiling file policies', () => {
  it('matches Cedar on exact files, path equality and directory scopes', () => {
    agreesWithCedar(`
      @id("one-file") permit (principal, action == Leash::Action::"ReadFile",
        resource == Leash::File::"/etc/a.txt");
      @id("by-path") permit (principal, action == Leash::Action::"WriteFile", resource)
        when { resource.path == "/tmp/a.txt" || "/dev/null" == resource.path };
      @id("dir") permit (principal, action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
        resource is Leash::File in Leash::Dir::"/work");
      @id("not-git") forbid (principal, action == Leash::Action::"WriteFile", resource)
        when { resource in Leash::Dir::"/workspace/.git" } unless { resource.name == "config" };
    `);
  });

  it('matches Cedar on name and path patterns, negations and root forms', () => {
    agreesWithCedar(`
      @id("ws") permit (principal, action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"],
        resource in Leash::Dir::"@workspace");
      @id("below-tmp") permit (principal, action == Leash::Action::"WriteFile", resource)
        when { resource.path like "/tmp/*" };
      @id("suffix") forbid (principal, action == Leash::Action::"ReadFile", resource)
        when { resource.path like "*/id_rsa" || resource.name like "*.cedar" };
      @id("no-dotfiles-but") forbid (principal, action == Leash::Action::"WriteFile", resource)
        when { !(resource.name == "a.txt") && resource in Leash::Dir::"@home/.config" };
      @id("everything") permit (principal, action == Leash::Action::"ReadFile", resource)
        when { resource.path like "*" && true };
    `);
  });

  it('matches Cedar on per-principal and per-session scopes', () => {
    agreesWithCedar(
      `
      @id("claude-reads") permit (principal == Leash::Agent::"claude",
        action == Leash::Action::"ReadFile", resource);
      @id("session-writes-tmp") permit (principal in Leash::Session::"s1",
        action == Leash::Action::"WriteFile", resource in Leash::Dir::"/tmp");
      @id("other-session") permit (principal is Leash::Agent in Leash::Session::"s2",
        action == Leash::Action::"WriteFile", resource);
      @id("agents") forbid (principal is Leash::Agent, action == Leash::Action::"ReadFile",
        resource in Leash::Dir::"@home/.ssh");
      @id("codex-no-env") forbid (principal in Leash::Agent::"codex",
        action == Leash::Action::"ReadFile", resource) when { resource.name == ".env" };
    `,
      [],
    );
  });

  it('gives each alternative of a disjunction its own rule with the policy id', () => {
    const text = `${EXEC}@id("either") permit (principal, action == Leash::Action::"ReadFile", resource)
      when { resource in Leash::Dir::"/a" || resource in Leash::Dir::"@home" };`;
    const result = compilePolicy(text, 'p.cedar', { session: 's', principals: ['x'], ...roots });
    const rules = result.ir?.principals.x?.files.filter((r) => r.id === 'either');
    assert.deepEqual(rules, [
      {
        id: 'either',
        effect: 'permit',
        access: ['read'],
        match: [{ kind: 'prefix', value: '/a' }],
      },
      {
        id: 'either',
        effect: 'permit',
        access: ['read'],
        match: [{ kind: 'prefix', value: '/home/agent' }],
      },
    ]);
  });
});

describe('compiling for a session', () => {
  it('refuses roots that are not absolute, normalised paths', () => {
    const options = { session: 's', principals: ['x'], workspace: 'work/', home: '/h' };
    assert.throws(() => compilePolicy(EXEC, 'p.cedar', options), /workspace must be/);
  });
});

describe('compiling connect policies', () => {
  it('matches Cedar on ranges, addresses, classes and ports', () => {
    agreesWithCedar(
      `
      @id("private") permit (principal, action == Leash::Action::"Connect", resource)
        when { resource.ip.isInRange(ip("10.0.0.0/8")) || resource.ip.isInRange(ip("fd00::/8")) };
      @id("dns") permit (principal, action == Leash::Action::"Connect", resource)
        when { resource.ip == ip("8.8.8.8") && resource.port == 53 };
      @id("web") permit (principal, action == Leash::Action::"Connect", resource)
        when { resource.ip.isIpv6() && (resource.port == 80 || resource.port == 443) };
      @id("no-low-ports") forbid (principal, action == Leash::Action::"Connect", resource)
        when { resource.port < 1024 && 22 != resource.port }
        unless { resource.ip.isLoopback() };
      @id("high") permit (principal, action == Leash::Action::"Connect", resource)
        when { 1024 <= resource.port && resource.port <= 65535 && resource.ip.isIpv4() };
      @id("odd") forbid (principal, action == Leash::Action::"Connect", resource is Leash::Endpoint)
        when { resource.ip.isMulticast() || resource.port > 70000 };
      @id("host-bits") permit (principal, action == Leash::Action::"Connect", resource)
        when { resource.ip.isInRange(ip("192.168.1.7/24")) && !(resource.port >= 5000) };
    `.replace(/^/, ''),
      ENDPOINTS,
    );
  });
});
