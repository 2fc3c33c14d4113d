import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** Logs every 5 ms for half a second, then exits 0; it must survive its reader going away. */
const LOGGER = `
const { logger } = require(${JSON.stringify(path.join(__dirname, 'log.js'))});
const log = logger('test');
log.info('first');
const t = setInterval(() => log.info('tick', { pad: 'x'.repeat(1000) }), 5);
setTimeout(() => { clearInterval(t); process.exit(0); }, 500);
`;

describe('the logger', () => {
  it('stops logging, rather than failing, when stderr is closed by its reader', async () => {
    const child = spawn(process.execPath, ['-e', LOGGER], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise((resolve) => child.stderr.once('data', resolve));
    child.stderr.destroy();
    const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0);
  });
});
