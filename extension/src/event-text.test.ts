import assert from 'node:assert/strict';
import { test } from 'node:test';
import { event } from './fixtures';
import { eventLabel, eventTooltip, lspEvent } from './event-text';

test('a denial names the default deny as its deciding policy when no policy decided it', () => {
  const e = event({ decision: 'deny', policies: [], action: 'WriteFile', resource: '/etc/x' });
  assert.match(eventTooltip(e), /^WriteFile \/etc\/x: denied\ndeciding policy: default deny/);
});

test('the deciding policies are listed by id', () => {
  const e = event({ decision: 'deny', policies: ['workspace-protected', 'git-hooks'] });
  assert.match(eventTooltip(e), /deciding policy: workspace-protected, git-hooks/);
});

test('strings from the sandbox stay literal text: markup and newlines are not interpreted', () => {
  const hostile = '/w/**bold** <img src=x onerror=alert(1)> [x](command:leash.stopSession)';
  const e = event({ resource: hostile, count: '3' });
  assert.equal(eventLabel(e), `ReadFile ${hostile} ×3`);
  assert.ok(eventTooltip(e).includes(hostile));
});

test('argv from exec events is shown in the tooltip', () => {
  const e = event({ kind: 'exec', action: 'Exec', details: '{"argv":["curl","-d","@x"]}' });
  assert.match(eventTooltip(e), /argv: curl -d @x/);
});

test('the language server gets path and access of an open, ip and port of a connect', () => {
  assert.deepEqual(lspEvent(event({ id: '12', decision: 'deny' })), {
    id: 12,
    principal: 'shell',
    kind: 'file',
    action: 'ReadFile',
    resource: '/w/a.txt',
    decision: 'deny',
    path: '/w/a.txt',
    access: 'read',
  });
  const net = lspEvent(
    event({
      kind: 'net',
      action: 'Connect',
      resource: '10.0.0.1:443',
      details: '{"ip":"10.0.0.1","port":443}',
    }),
  );
  assert.equal(net.ip, '10.0.0.1');
  assert.equal(net.port, 443);
});

test('a refused rename is written for the path that was refused, as a write', () => {
  const e = event({
    action: 'WriteFile',
    resource: '/w/.git/hooks/pre-commit',
    details: '{"op":"rename","path":"/w/x","to":"/w/.git/hooks/pre-commit","access":"write"}',
  });
  const l = lspEvent(e);
  assert.equal(l.path, undefined);
  assert.equal(l.resource, '/w/.git/hooks/pre-commit');
  assert.equal(l.access, 'write');
});

test('details that are not JSON are an error naming the event', () => {
  assert.throws(() => eventTooltip(event({ id: '4', details: '{' })), /event 4 has details/);
});
