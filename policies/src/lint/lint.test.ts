import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkPolicy, DEFAULT_POLICY_PATH } from '..';

const EXEC = '@id("exec") permit (principal, action == Leash::Action::"Exec", resource);\n';
const READ = 'action == Leash::Action::"ReadFile"';
const WRITE = 'action == Leash::Action::"WriteFile"';
const CONNECT = 'action == Leash::Action::"Connect"';

/** The lint findings for `body` (after an Exec permit), as `line:column code`. */
function findings(body: string): string[] {
  const result = checkPolicy(EXEC + body, 'p.cedar');
  assert.equal(result.ok, true, JSON.stringify(result.diagnostics));
  for (const d of result.diagnostics) assert.equal(d.severity, 'warning');
  return result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`);
}

function message(body: string, code: string): string {
  const d = checkPolicy(EXEC + body, 'p.cedar').diagnostics.find((x) => x.code === code);
  assert.ok(d, `no ${code}`);
  return d.message;
}

describe('lint', () => {
  it('finds nothing in the default policy', () => {
    const text = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
    assert.deepEqual(checkPolicy(text, 'default.cedar').diagnostics, []);
  });

  describe('L001: a permit shadowed by a forbid', () => {
    it('flags a permit every request of which a forbid also matches', () => {
      const body =
        `@id("tmp-x") permit (principal, ${WRITE}, resource in Leash::Dir::"/tmp/x");\n` +
        `@id("no-tmp") forbid (principal, action in [Leash::Action::"ReadFile", ` +
        `Leash::Action::"WriteFile"], resource in Leash::Dir::"/tmp");\n`;
      assert.deepEqual(findings(body), ['2:1 L001']);
      assert.match(message(body, 'L001'), /permit "tmp-x" never allows anything.*"no-tmp"/);
    });

    it('needs every alternative and access covered, possibly by different forbids', () => {
      const permit =
        `@id("p") permit (principal, action in [Leash::Action::"ReadFile", ` +
        `Leash::Action::"WriteFile"], resource) when { resource in Leash::Dir::"/a" || ` +
        `resource.path == "/b/c" };\n`;
      const forbidA = `@id("fa") forbid (principal, action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"], resource in Leash::Dir::"/a");\n`;
      const forbidB = `@id("fb") forbid (principal, action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"], resource) when { resource.name == "c" };\n`;
      assert.deepEqual(findings(permit + forbidA), []);
      assert.deepEqual(findings(permit + forbidA + forbidB), ['2:1 L001']);
      const readOnly = forbidB.replace(
        'action in [Leash::Action::"ReadFile", Leash::Action::"WriteFile"]',
        READ,
      );
      assert.deepEqual(findings(permit + forbidA + readOnly), []);
    });

    it('ignores a forbid for another principal', () => {
      const body =
        `@id("p") permit (principal, ${CONNECT}, resource) when { resource.ip.isLoopback() };\n` +
        `@id("f") forbid (principal == Leash::Agent::"codex", ${CONNECT}, resource);\n`;
      assert.deepEqual(findings(body), []);
      assert.deepEqual(findings(body.replace('principal == Leash::Agent::"codex"', 'principal')), [
        '2:1 L001',
      ]);
    });
  });

  describe('L002: a policy that can never match', () => {
    it('flags disjoint address ranges, ports and paths', () => {
      const body =
        `@id("net") permit (principal, ${CONNECT}, resource) when { ` +
        `resource.ip.isInRange(ip("10.0.0.0/8")) && resource.ip.isInRange(ip("192.168.0.0/16")) };\n` +
        `@id("port") permit (principal, ${CONNECT}, resource) when { resource.ip.isLoopback() && ` +
        `resource.port < 100 && resource.port > 200 };\n` +
        `@id("path") forbid (principal, ${READ}, resource in Leash::Dir::"/a") ` +
        `when { resource in Leash::Dir::"/b" };\n`;
      assert.deepEqual(findings(body), ['2:1 L002', '3:1 L002', '4:1 L002']);
    });

    it('flags a port outside 0–65535 at the comparison', () => {
      const body =
        `@id("p") permit (principal, ${CONNECT}, resource) when { resource.ip.isLoopback() && ` +
        `(resource.port == 70000 || resource.port == 22) };\n`;
      const text = EXEC + body;
      const d = checkPolicy(text, 'p.cedar').diagnostics;
      assert.deepEqual(
        d.map((x) => [x.code, x.line, x.column]),
        [['L002', 2, text.split('\n')[1]!.indexOf('resource.port == 70000') + 1]],
      );
    });

    it('leaves a policy alone when one alternative can match', () => {
      const body =
        `@id("p") permit (principal, ${CONNECT}, resource) when { resource.ip.isLoopback() && ` +
        `((resource.port == 22 && resource.port == 23) || resource.port == 80) };\n`;
      assert.deepEqual(findings(body), []);
    });
  });

  describe('L003: a broad permit', () => {
    it('flags writing under / and connecting anywhere', () => {
      const body =
        `@id("w") permit (principal, ${WRITE}, resource in Leash::Dir::"/") ` +
        `unless { resource in Leash::Dir::"/etc" };\n` +
        `@id("c4") permit (principal, ${CONNECT}, resource) when { resource.ip.isInRange(ip("0.0.0.0/0")) };\n` +
        `@id("c") permit (principal, ${CONNECT}, resource) when { resource.port == 443 };\n`;
      assert.deepEqual(findings(body), ['2:1 L003', '3:1 L003', '4:1 L003']);
    });

    it('leaves narrow permits and broad reads alone', () => {
      const body =
        `@id("r") permit (principal, ${READ}, resource in Leash::Dir::"/") ` +
        `unless { resource.name like "*.env" || resource in Leash::Dir::"@home" };\n` +
        `@id("w") permit (principal, ${WRITE}, resource in Leash::Dir::"/srv");\n` +
        `@id("c") permit (principal, ${CONNECT}, resource) when { resource.ip.isInRange(ip("10.0.0.0/8")) };\n`;
      assert.deepEqual(findings(body), []);
    });
  });

  describe('L004: a secret-like path left readable', () => {
    it('flags home credentials and .env files that a permit opens', () => {
      const body = `@id("home") permit (principal, ${READ}, resource in Leash::Dir::"@home");\n`;
      assert.deepEqual(findings(body), ['2:1 L004']);
      assert.match(message(body, 'L004'), /\/home\/agent\/\.ssh\/id_rsa/);
      const data = `@id("data") permit (principal, ${READ}, resource in Leash::Dir::"/data");\n`;
      assert.match(message(data, 'L004'), /\/data\/\.env/);
    });

    it('is satisfied by forbids that cover them', () => {
      const body =
        `@id("data") permit (principal, ${READ}, resource in Leash::Dir::"/data");\n` +
        `@id("env") forbid (principal, ${READ}, resource) when { resource.name like "*.env" };\n`;
      assert.deepEqual(findings(body), []);
    });

    it('flags a permit naming a secret file itself', () => {
      const body = `@id("key") permit (principal, ${READ}, resource == Leash::File::"/srv/.ssh/id_rsa");\n`;
      assert.deepEqual(findings(body), ['2:1 L004']);
    });
  });

  describe('L005: an unknown annotation', () => {
    it('flags the annotation, not the known ones', () => {
      const body = `@id("f") @allways @always forbid (principal, ${READ}, resource in Leash::Dir::"/x");\n`;
      assert.deepEqual(findings(body), ['2:10 L005']);
      assert.match(message(body, 'L005'), /"@allways"/);
    });
  });

  describe('L003 for HTTP: a permit of requests to any host', () => {
    const HTTP = 'action == Leash::Action::"HttpRequest"';
    it('flags a permit that leaves the host open, not one that names it', () => {
      const open =
        `@id("web") permit (principal, ${HTTP}, resource)\n` + `  when { resource.port == 443 };\n`;
      assert.deepEqual(findings(open), ['2:1 L003']);
      assert.match(message(open, 'L003'), /HTTP requests to any host/);
      const named =
        `@id("gh") permit (principal, ${HTTP}, resource)\n` +
        `  when { resource.name like "*.github.com" };\n`;
      assert.deepEqual(findings(named), []);
    });
  });

  describe('L006: no permit of Exec', () => {
    it('flags a policy set in which no program may run', () => {
      const result = checkPolicy(
        `@id("r") permit (principal, ${READ}, resource == Leash::File::"/etc/hosts");`,
        'p.cedar',
      );
      assert.equal(result.ok, true);
      assert.deepEqual(
        result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`),
        ['1:1 L006'],
      );
    });
  });

  describe('L007: an injected header sent to any host', () => {
    it('flags @inject_header on a permit that matches every host, at the annotation', () => {
      const body =
        '@id("tok") @inject_header("Authorization: Bearer ${secret:TOKEN}")\n' +
        'permit (principal, action == Leash::Action::"HttpRequest", resource)\n' +
        '  unless { resource.name == "evil.example" };\n';
      assert.deepEqual(findings(body), ['2:1 L003', '2:12 L007']);
      assert.match(message(body, 'L007'), /header "Authorization" into requests to any host/);
    });
  });

  describe('L002 for Exec, HTTP and MCP', () => {
    it('flags string tests no value passes and disjoint ports, not satisfiable ones', () => {
      const http = 'permit (principal, action == Leash::Action::"HttpRequest", resource)';
      const body =
        `@id("h1") ${http}\n  when { resource.name == "a.io" && resource.name like "*.com" };\n` +
        `@id("h2") ${http}\n  when { resource.name == "a.io" && resource.port > 443 && ` +
        `resource.port < 80 };\n` +
        `@id("m") forbid (principal, action == Leash::Action::"McpCall", resource)\n` +
        `  when { resource.name == "x" && resource.name != "x" };\n` +
        `@id("e") forbid (principal, action == Leash::Action::"Exec", resource)\n` +
        `  when { context.args == "a" && context.args like "b*" };\n` +
        `@id("ok") ${http}\n  when { resource.name == "a.com" && resource.name like "*.com" };\n`;
      assert.deepEqual(findings(body), ['2:1 L002', '4:1 L002', '6:1 L002', '8:1 L002']);
    });
  });

  describe('L001 for Exec, HTTP and MCP', () => {
    it('flags permits that forbids cover, and not those that escape them', () => {
      const http = 'action == Leash::Action::"HttpRequest"';
      const exec = 'action == Leash::Action::"Exec"';
      const body =
        `@id("gh") permit (principal, ${http}, resource == Leash::Host::"api.github.com")\n` +
        `  when { resource.port == 443 };\n` +
        `@id("no-gh") forbid (principal, ${http}, resource) when { resource.name like "*.github.com" };\n` +
        `@id("push") permit (principal, ${exec}, resource) when { context.argv.containsAll(["push", "-f"]) };\n` +
        `@id("no-f") forbid (principal, ${exec}, resource) when { context.argv.containsAny(["-f", "--force"]) };\n` +
        `@id("web") permit (principal, ${http}, resource) when { resource.name == "example.com" };\n`;
      assert.deepEqual(findings(body), ['2:1 L001', '5:1 L001']);
      assert.match(message(body, 'L001'), /permit "gh" never allows anything.*"no-gh"/);
    });
  });
});
