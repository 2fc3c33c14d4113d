import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { childEnv } from './child-env';

const env = {
  PATH: process.env.PATH,
  NODE_CHANNEL_FD: '3',
  NODE_CHANNEL_SERIALIZATION_MODE: 'json',
};

test("the extension host's IPC channel is not passed on; the rest of the environment is", () => {
  assert.deepEqual(childEnv(env), { PATH: process.env.PATH });
});

test('a Node child started with that environment runs and prints', () => {
  const out = execFileSync(process.execPath, ['-e', 'console.log("ran")'], {
    env: childEnv(env),
    encoding: 'utf8',
  });
  assert.equal(out, 'ran\n');
});

test('without it, the same child does not run cleanly (why the variables go)', () => {
  assert.throws(() =>
    execFileSync(process.execPath, ['-e', 'console.log("ran")'], { env, stdio: 'pipe' }),
  );
});
