import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENTS_PER_PRINCIPAL, EventModel } from './event-model';
import { event } from './fixtures';
import type { SessionInfo } from './wire';

function session(name: string, workspace: string, principals = ['shell']): SessionInfo {
  return {
    name,
    agent: 'shell',
    workspace,
    mode: 'enforce',
    state: 'running',
    policyHash: 'h',
    policyOrigin: `${workspace}/.leash/policy.cedar`,
    containerId: 'c',
    runtime: 'docker',
    started: '',
    principals,
    denials: '0',
    notices: [],
  };
}

test('events of a principal come newest first', () => {
  const m = new EventModel();
  m.add(event({ id: '1', resource: '/a' }), true);
  m.add(event({ id: '2', resource: '/b' }), true);
  assert.deepEqual(
    m.events('s1', 'shell').map((e) => e.resource),
    ['/b', '/a'],
  );
});

test('a resumed stream repeats nothing and resumes after the last id', () => {
  const m = new EventModel();
  assert.equal(m.afterId, '');
  assert.equal(m.add(event({ id: '5' }), true), true);
  assert.equal(m.add(event({ id: '5' }), true), false);
  assert.equal(m.add(event({ id: '3' }), true), false);
  assert.equal(m.afterId, '5');
  assert.equal(m.events('s1', 'shell').length, 1);
});

test('filters: denied only (would-deny counts) and by kind', () => {
  const m = new EventModel();
  m.add(event({ id: '1', decision: 'allow' }), true);
  m.add(event({ id: '2', decision: 'deny' }), true);
  m.add(event({ id: '3', decision: 'would-deny', kind: 'net', resource: '10.0.0.1:80' }), true);
  m.filters = { deniedOnly: true, kinds: [] };
  assert.deepEqual(
    m.events('s1', 'shell').map((e) => e.id),
    ['3', '2'],
  );
  m.filters = { deniedOnly: false, kinds: ['net'] };
  assert.deepEqual(
    m.events('s1', 'shell').map((e) => e.id),
    ['3'],
  );
  assert.deepEqual(m.kinds(), ['file', 'net']);
});

test('a principal keeps at most the newest EVENTS_PER_PRINCIPAL events', () => {
  const m = new EventModel();
  for (let i = 1; i <= EVENTS_PER_PRINCIPAL + 10; i++) m.add(event({ id: String(i) }), false);
  const kept = m.events('s1', 'shell');
  assert.equal(kept.length, EVENTS_PER_PRINCIPAL);
  assert.equal(kept[0]?.id, String(EVENTS_PER_PRINCIPAL + 10));
});

test('running sessions list first with their principals; ended ones stay', () => {
  const m = new EventModel();
  m.add(event({ id: '1', session: 'old' }), false);
  m.setRunning([session('new', '/w', ['shell', 'mcp:fs'])]);
  assert.deepEqual(
    m.list().map((s) => [s.name, s.running]),
    [
      ['new', true],
      ['old', false],
    ],
  );
  assert.deepEqual([...(m.get('new')?.principals.keys() ?? [])], ['shell', 'mcp:fs']);
});

test('totals count running sessions and live denials of this workspace only', () => {
  const m = new EventModel();
  m.setRunning([session('a', '/w'), session('b', '/other')]);
  m.add(event({ id: '1', session: 'a', decision: 'deny' }), false); // history: not "since start"
  m.add(event({ id: '2', session: 'a', decision: 'deny' }), true);
  m.add(event({ id: '3', session: 'b', decision: 'deny' }), true);
  m.add(event({ id: '4', session: 'a', decision: 'allow' }), true);
  assert.deepEqual(m.totals('/w'), { running: 1, denials: 1 });
  assert.deepEqual(m.totals(undefined), { running: 2, denials: 2 });
});

test('rows without a principal (session start and stop) only move the resume point', () => {
  const m = new EventModel();
  m.add(event({ id: '9', principal: '', kind: 'session' }), true);
  assert.equal(m.afterId, '9');
  assert.equal(m.list().length, 0);
});
