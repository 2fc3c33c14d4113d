/**
 * A flood meant to hide a later denial: the workload makes denied connects as fast as perl
 * can, then one denied read and one denied connect as markers. Every decision must reach the
 * audit log, or a loss record must say how many did not.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as readline from 'node:readline';
import { sandboxSkip } from '../support/env';
import { CLI, makeWorkspace, sessionOf, sleep, TestDaemon } from '../support/leashd';

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

  it('records a denial that follows a flood of denials, or says what it lost', async () => {
    const ws = makeWorkspace({ '.env': 'SECRET=flood\n', 'flood.pl': FLOODER });
    const r = await daemon.cliAsync([
      ...['run', '--json', '--workspace', ws, 'shell', '--'],
      ...['perl', `${ws}/flood.pl`, ws, String(FLOOD), String(ports[0]), String(ports[1])],
    ]).done;
    const out = `${r.stdout}\n${r.stderr}`;
    assert.match(r.stdout, new RegExp(`^refused=${FLOOD}$`, 'm'), out);
    assert.match(r.stdout, /^marker-read=failed: Operation not permitted$/m, out);
    assert.match(r.stdout, /^marker-connect=failed: Operation not permitted$/m, out);
    assert.deepEqual(reached, [], 'no connect got through');

    // The writer flushes every 200 ms; give the last batch time to land.
    await sleep(1000);
    const session = sessionOf(r.stderr);
    const markerRead = daemon.cli(['events', '--session', session, '--text', '.env', '--json']);
    assert.match(markerRead.stdout, /"decision":"deny"/, 'the denied read after the flood');
    const markerConnect = daemon.cli([
      ...['events', '--session', session, '--text', `:${ports[1]}`, '--json'],
    ]);
    const flooded = await countOf(['--session', session, '--text', `:${ports[0]}`]);
    const lost = await countOf(['--kind', 'loss']);
    console.log(`# flood: ${FLOOD} denied connects, ${flooded} recorded, ${lost} in loss records`);
    assert.ok(
      markerConnect.stdout.includes('"decision":"deny"') || lost > 0,
      'the marker connect is recorded, or a loss record says events were dropped',
    );
    assert.ok(flooded + lost >= FLOOD, `${flooded} recorded + ${lost} lost < ${FLOOD}`);
  });
});
