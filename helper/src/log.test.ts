/**
 * The logger when its reader goes away: a process whose stderr pipe was closed keeps running
 * and can still exit, instead of turning each failed log line into another error to log.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const LOG = path.join(__dirname, 'log.js');

// Logs like leashd does, including what leashd does with an uncaught exception; exits 7 once
// the reader has certainly gone and the logger has been used again.
const CHILD = `
const { logger } = require(${JSON.stringify(LOG)});
const log = logger('test');
process.on('uncaughtException', (err) => log.error('uncaught exception', { error: err.message }));
log.info('started');
setTimeout(() => {
  for (let i = 0; i < 100; i++) log.error('after the reader left', { i });
  setTimeout(() => process.exit(7), 300);
}, 500);
`;

describe('logger', () => {
  it('goes quiet when stderr is closed, and the process still exits', async () => {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
    child.stderr.destroy();
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 10_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 7, 'the child exited by itself, with its own code');
    assert.ok(Date.now() - started < 10_000);
  });
});
