import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, decideHttp } from '..';
import { differential } from '../differential';
import { EXECS, HTTP_REQUESTS, MCP_CALLS } from '../requests';

const roots = { workspace: '/workspace', home: '/home/agent' };
const options = { session: 's1', principals: ['claude'], ...roots };

/** Compiles for two agents of session s1, then holds every request kind against Cedar. */
function agreesWithCedar(text: string): number {
  const { mismatches, requests } = differential({
    text,
    session: 's1',
    principals: ['claude', 'other'],
    ...roots,
    paths: [],
    endpoints: [],
    execs: EXECS,
    http: HTTP_REQUESTS,
    mcp: MCP_CALLS,
  });
  assert.deepEqual(mismatches.slice(0, 3), []);
  return requests;
}

function codes(text: string): string[] {
  return compilePolicy(text, 'p.cedar', options).diagnostics.map((d) => d.code);
}

describe('compiling Exec policies', () => {
  it('matches Cedar on programs, argv sets and the joined args', () => {
    agreesWithCedar(`
      @id("tools") permit (principal, action == Leash::Action::"Exec", resource)
        when { resource in Leash::Dir::"/usr/bin" || resource.path like "*/.bin/tsc" ||
               resource.path like "/workspace/*" };
      @id("no-force-push") forbid (principal, action == Leash::Action::"Exec",
        resource == Leash::File::"/usr/bin/git")
        when { context.argv.contains("push") &&
               context.argv.containsAny(["--force", "-f"]) };
      @id("both") forbid (principal == Leash::Agent::"other", action == Leash::Action::"Exec",
        resource) when { context.argv.containsAll(["a", "b"]) } unless { context.args == "b a" };
      @id("sh-c") forbid (principal, action == Leash::Action::"Exec", resource)
        when { resource.name == "sh" && context.args like "-c *rm -rf*" };
      @id("quiet") permit (principal, action == Leash::Action::"Exec", resource)
        when { context.args == "" || context.args != "status" && !context.argv.contains("*") };
      @id("has") permit (principal, action == Leash::Action::"Exec", resource)
        when { context has args && resource has name && resource.name == "curl" };
    `);
  });

  it('compiles program and argument conditions to exec rules', () => {
    const text = `@id("git") permit (principal, action == Leash::Action::"Exec",
      resource == Leash::File::"/usr/bin/git") when { !context.argv.contains("push") };`;
    const ir = compilePolicy(text, 'p.cedar', options).ir?.principals.claude;
    assert.deepEqual(ir?.exec, [
      {
        id: 'git',
        effect: 'permit',
        match: [
          { on: 'program', path: { kind: 'exact', value: '/usr/bin/git' } },
          { on: 'argv', op: 'contains', values: ['push'], negate: true },
        ],
      },
    ]);
  });

  it('refuses argument tests it cannot enforce exactly, at the expression', () => {
    const text = `@id("x") permit (principal, action == Leash::Action::"Exec", resource)
      when { context.argv.isEmpty() };`;
    const [d] = compilePolicy(text, 'p.cedar', options).diagnostics;
    assert.equal(d?.code, 'unsupported-exec');
    assert.equal(d?.line, 2);
    assert.match(d?.message ?? '', /context\.argv\.contains/);
  });

  it('permits no program when no policy permits Exec', () => {
    const text = '@id("r") permit (principal, action == Leash::Action::"ReadFile", resource);';
    const result = compilePolicy(text, 'p.cedar', options);
    assert.equal(result.ok, true);
    assert.deepEqual(result.ir?.principals.claude?.exec, []);
  });
});

describe('compiling HttpRequest policies', () => {
  it('matches Cedar on hosts, ports, methods and paths', () => {
    agreesWithCedar(`
      @id("github") permit (principal, action == Leash::Action::"HttpRequest",
        resource == Leash::Host::"github.com");
      @id("github-api") permit (principal, action == Leash::Action::"HttpRequest", resource)
        when { resource.name like "*.github.com" && resource.port == 443 };
      @id("npm") permit (principal, action == Leash::Action::"HttpRequest", resource)
        when { resource in [Leash::Host::"registry.npmjs.org", Leash::Host::"localhost"] &&
               ["GET", "HEAD"].contains(context.method) };
      @id("no-delete") forbid (principal, action == Leash::Action::"HttpRequest", resource)
        when { context.method == "DELETE" || context.path like "/repos/*/issues" };
      @id("high-ports") forbid (principal, action == Leash::Action::"HttpRequest",
        resource is Leash::Host) when { resource.port > 1024 && resource.name != "x" };
      @id("queries") permit (principal, action == Leash::Action::"HttpRequest", resource)
        unless { context.path like "*\\**" || !(context has path) };
    `);
  });

  it('carries @inject_header to the permit rules and to the decision', () => {
    const text = `@id("gh") @inject_header("Authorization: Bearer \${secret:GH_TOKEN}")
      permit (principal, action == Leash::Action::"HttpRequest", resource)
      when { resource.name == "api.github.com" || resource.name == "github.com" };`;
    const ir = compilePolicy(text, 'p.cedar', options).ir?.principals.claude;
    assert.equal(ir?.http.length, 2);
    const header = { name: 'Authorization', value: 'Bearer ${secret:GH_TOKEN}' };
    assert.deepEqual(ir?.http[0]?.injectHeader, header);
    const req = { host: 'github.com', port: 443, method: 'GET', path: '/' };
    assert.deepEqual(ir && decideHttp(ir, req), {
      decision: 'allow',
      policies: ['gh'],
      inject: [{ ...header, policy: 'gh' }],
    });
    assert.deepEqual(ir && decideHttp(ir, { ...req, host: 'example.com' }).inject, []);
  });

  it('refuses bad @inject_header annotations with a code each, at the annotation', () => {
    const permit = 'permit (principal, action == Leash::Action::"HttpRequest", resource);';
    const at = (annotation: string, policy = permit): string[] =>
      codes(`@id("p") ${annotation}\n${policy}`);
    assert.deepEqual(at('@inject_header("no colon")'), ['inject-header-format']);
    assert.deepEqual(at('@inject_header("Bad Name: x")'), ['inject-header-format']);
    assert.deepEqual(at('@inject_header("Host: evil.example")'), ['inject-header-name']);
    assert.deepEqual(at('@inject_header("X-A: a\\nX-B: b")'), ['inject-header-value']);
    assert.deepEqual(at('@inject_header("X-A: ${secret:1X}")'), ['inject-header-secret']);
    assert.deepEqual(at('@inject_header("X-A: ${env:HOME}")'), ['inject-header-secret']);
    assert.deepEqual(at('@inject_header("X-A: ${secret:OK")'), ['inject-header-secret']);
    const forbid = 'forbid (principal, action == Leash::Action::"HttpRequest", resource);';
    assert.deepEqual(at('@inject_header("X-A: a")', forbid), ['inject-header-not-permit']);
    const read = 'permit (principal, action == Leash::Action::"ReadFile", resource);';
    assert.deepEqual(at('@inject_header("X-A: a")', read), ['inject-header-not-permit']);
    const [d] = compilePolicy(
      `@id("p")\n  @inject_header("X-A: \${secret:a-b}")\n${permit}`,
      'p.cedar',
      options,
    ).diagnostics;
    assert.deepEqual([d?.line, d?.column], [2, 3]);
  });

  it('refuses host names and methods that can never match', () => {
    const http = 'permit (principal, action == Leash::Action::"HttpRequest", resource)';
    assert.deepEqual(codes(`@id("a") ${http} when { resource.name == "GitHub.com" };`), [
      'host-not-canonical',
    ]);
    assert.deepEqual(
      codes(`@id("a") permit (principal, action == Leash::Action::"HttpRequest",
        resource == Leash::Host::"github.com:443");`),
      ['host-not-canonical'],
    );
    assert.deepEqual(codes(`@id("a") ${http} when { resource.name == "[::1]" };`), [
      'host-not-canonical',
    ]);
    assert.deepEqual(codes(`@id("a") ${http} when { resource.name == "::1" };`), []);
    assert.deepEqual(codes(`@id("a") ${http} when { context.method == "get" };`), [
      'method-not-uppercase',
    ]);
  });
});

describe('compiling McpCall policies', () => {
  it('matches Cedar on servers, tools and arguments', () => {
    agreesWithCedar(`
      @id("github") permit (principal, action == Leash::Action::"McpCall",
        resource in Leash::McpServer::"github");
      @id("no-delete") forbid (principal, action == Leash::Action::"McpCall",
        resource == Leash::McpTool::"github/delete_repo");
      @id("read-tools") permit (principal, action == Leash::Action::"McpCall", resource)
        when { resource.name like "read_*" || resource.name == "a/b" };
      @id("no-passwd") forbid (principal, action == Leash::Action::"McpCall", resource)
        when { context.arguments like "*/etc/passwd*" && resource.server != "github" };
      @id("tools") permit (principal == Leash::Agent::"other", action == Leash::Action::"McpCall",
        resource is Leash::McpTool in Leash::McpServer::"fs")
        when { resource in [Leash::McpTool::"fs/a/b", Leash::McpTool::"fs/read_file"] };
      @id("other-server") permit (principal, action == Leash::Action::"McpCall", resource)
        when { resource in [Leash::McpServer::"githubx"] && resource has server };
    `);
  });

  it('refuses tool ids without a server', () => {
    assert.deepEqual(
      codes(`@id("a") permit (principal, action == Leash::Action::"McpCall",
        resource == Leash::McpTool::"create_issue");`),
      ['mcp-tool-id'],
    );
  });
});

describe('compiling policies for every action', () => {
  it('matches Cedar on open actions and action sets', () => {
    agreesWithCedar(`
      @id("all") permit (principal, action, resource);
      @id("net") forbid (principal,
        action in [Leash::Action::"HttpRequest", Leash::Action::"McpCall", Leash::Action::"Exec"],
        resource) when { true };
      @id("some") permit (principal == Leash::Agent::"claude",
        action in [Leash::Action::"HttpRequest", Leash::Action::"McpCall"], resource);
    `);
  });
});
