import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NewEvent } from '../audit/event';
import { AuditStore } from '../audit/store';
import { logger } from '../log';
import type { SessionManager } from '../session/manager';
import { newToken, TOKEN_FILE } from './access';
import { policiesById } from './api';
import { ControlUi } from './server';

function event(over: Partial<NewEvent> = {}): NewEvent {
  return {
    session: 's1',
    principal: 'shell',
    kind: 'file',
    action: 'ReadFile',
    resource: '/w/a.txt',
    decision: 'allow',
    policies: ['p'],
    count: 1,
    pid: 10,
    comm: 'cat',
    details: { path: '/w/a.txt', access: 'read' },
    ...over,
  };
}

/** Reads an SSE stream until `until` holds for the ids seen; returns them and the raw text. */
function readStream(
  port: number,
  query: string,
  headers: Record<string, string>,
  until: (ids: number[], text: string) => boolean,
): Promise<{ ids: number[]; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: `/api/events/stream?${query}`, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
          if (until(ids, text)) {
            req.destroy();
            resolve({ ids, text });
          }
        });
      },
    );
    req.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? 0 : reject(err),
    );
  });
}

describe('the Control UI server', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-ui-'));
  const store = new AuditStore(path.join(dir, 'audit.db'));
  const sessions = { list: () => [] } as unknown as SessionManager;
  const token = newToken(dir);
  const ui = new ControlUi({ sessions, store, log: logger('ui-test'), token, staticDir: dir });
  let port = 0;
  let auth: Record<string, string>;

  before(async () => {
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    port = await ui.listen(0);
    auth = { Authorization: `Bearer ${token}`, Host: `127.0.0.1:${port}` };
  });
  after(() => {
    ui.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its token in the state directory, readable by root only', () => {
    const stat = fs.statSync(path.join(dir, TOKEN_FILE));
    assert.equal(stat.mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(path.join(dir, TOKEN_FILE), 'utf8').trim(), token);
  });

  it('streams the newest events, then live ones; a resume gives no gaps and no repeats', async () => {
    store.append([1, 2, 3, 4, 5].map((i) => event({ resource: `/w/${i}` })));
    const first = await readStream(port, 'tail=2', auth, (_, t) => t.includes('event: ready'));
    const all = store.query({}).map((e) => e.id);
    assert.deepEqual(first.ids, all.slice(-2));

    const live = readStream(port, 'decision=deny', auth, (ids) => ids.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    store.append([event(), event({ decision: 'deny', resource: '/etc/x' })]);
    const got = await live;
    assert.equal(got.ids.length, 1);
    assert.match(got.text, /"resource":"\/etc\/x"/);

    const last = first.ids[1] ?? 0;
    const resumed = await readStream(port, '', { ...auth, 'Last-Event-ID': String(last) }, (_, t) =>
      t.includes('event: ready'),
    );
    assert.deepEqual(
      resumed.ids,
      store.query({ afterId: last }).map((e) => e.id),
    );
  });

  it('serves the page with a strict content security policy', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const part of ["default-src 'self'", "script-src 'self'", "object-src 'none'"]) {
      assert.ok(csp.includes(part), part);
    }
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(`http://127.0.0.1:${port}/../audit.db`)).status, 404);
  });

  it('refuses the API without the token, and from another host name', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/sessions`)).status, 401);
    const ok = await fetch(`http://localhost:${port}/api/sessions`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(ok.status, 200);
    const other = await new Promise<number>((resolve, reject) =>
      http
        .get(
          { host: '127.0.0.1', port, path: '/api/sessions', headers: { ...auth, Host: 'evil:1' } },
          (res) => resolve(res.statusCode ?? 0),
        )
        .on('error', reject),
    );
    assert.equal(other, 403);
  });

  it("finds each policy's text by its @id", () => {
    const text =
      '@id("a")\npermit (principal, action, resource);\n\n' +
      '@id("b")\n@always\nforbid (principal, action, resource);\n';
    const byId = policiesById(text);
    assert.deepEqual(Object.keys(byId), ['a', 'b']);
    assert.match(byId.b ?? '', /^@id\("b"\)\n@always\nforbid/);
  });
});
