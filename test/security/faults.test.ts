/**
 * Faults meant to open the sandbox or hide what it did: a flood of denials before the one that
 * matters (every decision must reach the audit log, or a loss record must say how many did
 * not), and an audit store with no room left (the sandbox stays closed, and leashd says what
 * it could not record).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { sandboxSkip } from '../support/env';
import { CLI, makeWorkspace, sessionOf, sleep, TestDaemon, waitFor } from '../support/leashd';

const GATEWAY = '172.17.0.1';
const FLOOD = 100_000;

/** FLOOD denied connects to one port, then the markers: a denied read and another port. */
const FLOODER = String.raw`
use strict;
use warnings;
use Socket qw(:all);

my ($ws, $count, $port, $marker_port) = @ARGV;
my $to = pack_sockaddr_in($port, inet_aton('172.17.0.1'));
my $refused = 0;
for (1 .. $count) {
  socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
  connect($s, $to) or $refused++;
  close($s);
}
print "refused=$refused\n";
print 'marker-read=', (open(my $f, '<', "$ws/.env") ? 'read' : "failed: $!"), "\n";
socket(my $m, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
print 'marker-connect=', (connect($m, pack_sockaddr_in($marker_port, inet_aton('172.17.0.1')))
  ? 'reached' : "failed: $!"), "\n";
`;

describe('faults', { skip: sandboxSkip() }, () => {
  /** The sum of `count` over the events `leash events` lists with these filters (streamed). */
  async function countOf(filters: string[]): Promise<number> {
    const child = spawn(process.execPath, [
      ...[CLI, '--socket', daemon.socket, 'events', '--json'],
      ...filters,
    ]);
    let total = 0;
    for await (const line of readline.createInterface({ input: child.stdout })) {
      if (line) total += Number((JSON.parse(line) as { count: number }).count);
    }
    return total;
  }

  const daemon = new TestDaemon();
  const reached: number[] = [];
  const traps = [0, 1].map((i) =>
    net.createServer((s) => {
      reached.push(i);
      s.destroy();
    }),
  );
  const ports: number[] = [];

  before(async () => {
    for (const t of traps) {
      await new Promise<void>((resolve) => t.listen(0, GATEWAY, () => resolve()));
      ports.push((t.address() as net.AddressInfo).port);
    }
    await daemon.start();
  });
  after(async () => {
    await daemon.stop();
    for (const t of traps) t.close();
  });

  /** The flood's outcome, measured once for the cases below. */
  let flood: {
    out: string;
    session: string;
    recorded: number;
    lost: number;
    markerRead: string;
    markerConnect: string;
  };

  before(async () => {
    const ws = makeWorkspace({ '.env': 'SECRET=flood\n', 'flood.pl': FLOODER });
    const r = await daemon.cliAsync([
      ...['run', '--json', '--workspace', ws, 'shell', '--'],
      ...['perl', `${ws}/flood.pl`, ws, String(FLOOD), String(ports[0]), String(ports[1])],
    ]).done;
    // The writer flushes every 200 ms; give the last batch time to land.
    await sleep(1000);
    const session = sessionOf(r.stderr);
    flood = {
      out: `${r.stdout}\n${r.stderr}`,
      session,
      recorded: await countOf(['--session', session, '--text', `:${ports[0]}`]),
      lost: await countOf(['--kind', 'loss']),
      markerRead: daemon.cli([
        ...['events', '--session', session, '--text', '.env', '--decision', 'deny', '--json'],
      ]).stdout,
      markerConnect: daemon.cli([
        ...['events', '--session', session, '--text', `:${ports[1]}`, '--json'],
      ]).stdout,
    };
    console.log(
      `# flood: ${FLOOD} denied connects, ${flood.recorded} recorded, ${flood.lost} in loss records`,
    );
  });

  it('holds every denial of a flood and still records the one that follows', () => {
    assert.match(flood.out, new RegExp(`^refused=${FLOOD}$`, 'm'), flood.out);
    assert.match(flood.out, /^marker-read=failed: Operation not permitted$/m, flood.out);
    assert.match(flood.out, /^marker-connect=failed: Operation not permitted$/m, flood.out);
    assert.deepEqual(reached, [], 'no connect got through');
    assert.match(flood.markerRead, /"decision":"deny"/, 'the denied read after the flood');
  });

  it('records every denial of the flood, or counts it in a loss record', () => {
    const { recorded, lost } = flood;
    assert.ok(recorded + lost >= FLOOD, `${recorded} recorded + ${lost} lost < ${FLOOD}`);
    assert.match(flood.markerConnect, /"decision":"deny"/, 'the denied connect after it');
  });
});

describe('a full audit store', { skip: sandboxSkip() }, () => {
  const daemon = new TestDaemon();
  const fill = path.join(daemon.stateDir, 'fill');

  before(async () => {
    // The state directory on a small tmpfs of the test's own, filled once leashd is up.
    fs.mkdirSync(daemon.stateDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'leash-test-full', daemon.stateDir]);
    await daemon.start();
    spawnSync('dd', ['if=/dev/zero', `of=${fill}`, 'bs=64k'], { stdio: 'ignore' });
  });
  after(async () => {
    // leashd first, then the tmpfs, then the rest of the test directory.
    const p = daemon.process;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = once(p, 'exit');
      p.kill('SIGTERM');
      await exited;
    }
    execFileSync('umount', [daemon.stateDir]);
    await daemon.stop();
  });

  it('keeps the sandbox closed and says what it could not record', async () => {
    const ws = makeWorkspace({ '.env': 'SECRET=full\n' });
    const r = await daemon.cliAsync([
      ...['run', '--json', '--workspace', ws, 'shell', '--'],
      ...['bash', '-c', `for i in $(seq 50); do cat ${ws}/.env 2>&1; done | sort | uniq -c`],
    ]).done;
    assert.match(r.stdout, /^\s+50 cat: .*\.env: Operation not permitted$/m, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /SECRET=full/);
    await waitFor('leashd to log the failed write', () => /audit write failed/.test(daemon.log));
    assert.match(daemon.log, /"msg":"audit write failed".*(SQLITE_FULL|full)/);
    assert.match(daemon.log, /"lost":\d+/);
    assert.equal(daemon.cli(['helper', 'status']).status, 0, 'leashd keeps serving');
  });
});
