import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helperProblem } from './helper-problem';

const SOCKET = '/run/leash/leashd.sock';

test('a missing socket means leashd is not running, and Start Helper is offered first', () => {
  const p = helperProblem(SOCKET, 'missing', 14, 'No connection established');
  assert.equal(p.kind, 'not-running');
  assert.match(
    p.message,
    /leashd is not running on \/run\/leash\/leashd\.sock \(there is no socket\)/,
  );
  assert.deepEqual(p.fixes, ['Start Helper', 'Open Settings', 'Show Log']);
});

test('a socket nobody answers on is also "not running", with the reason', () => {
  const p = helperProblem(SOCKET, 'present', 14, 'connect ECONNREFUSED');
  assert.equal(p.kind, 'not-running');
  assert.match(p.message, /nothing answers on it/);
});

test('a socket this user may not use names the group to join, not Start Helper', () => {
  const p = helperProblem(SOCKET, 'no-access', 14, 'EACCES');
  assert.equal(p.kind, 'no-permission');
  assert.match(p.message, /Join the `leash` group/);
  assert.ok(!p.fixes.includes('Start Helper'));
});

test("a refusal carries leashd's own message", () => {
  const p = helperProblem(SOCKET, 'present', 3, 'workspace / is refused: it is the root');
  assert.equal(p.kind, 'refused');
  assert.equal(p.message, 'Leash: leashd refused: workspace / is refused: it is the root');
});
