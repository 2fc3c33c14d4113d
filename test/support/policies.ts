/** The test policy most suites start from: the system readable, the workspace readable and
 *  writable, any program run (test/fixtures/workspace-rw.cedar). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const WORKSPACE_RW_FILE = path.resolve(
  __dirname,
  '..',
  '..',
  'fixtures',
  'workspace-rw.cedar',
);
export const WORKSPACE_RW = fs.readFileSync(WORKSPACE_RW_FILE, 'utf8');

/** The same without its unconditional Exec permit, for suites that write their own Exec rules. */
export const WORKSPACE_RW_NO_EXEC = WORKSPACE_RW.replace(
  /@id\("exec-any"\)\npermit \(principal, action == Leash::Action::"Exec", resource\);\n/,
  '',
);
if (WORKSPACE_RW_NO_EXEC === WORKSPACE_RW) {
  throw new Error(`${WORKSPACE_RW_FILE} no longer holds the exec-any permit this file removes`);
}
