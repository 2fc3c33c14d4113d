/**
 * lsp_diag_ms and memory_mb/language-server: the built language server driven over stdio as an
 * editor drives it. Diagnostics after an edit (the server's debounce pause taken off) against
 * cedar-wasm's own parse + strict validation of the same text in process; resident memory with
 * a 2,000-statement file open against an idle `node -e` process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cedarOnly } from './compile';
import { compareResident, IdleNode, type MemorySizes } from './memory';
import { withStatements } from './policies';
import { interleave, summarise, type Result } from './stats';

const SERVER = require.resolve('@leash/language-server/dist/server.js');
/** The pause the server waits after an edit before checking (diagnostics.ts). */
const DEBOUNCE_MS = (require('@leash/language-server/dist/diagnostics') as { DEBOUNCE_MS: number })
  .DEBOUNCE_MS;

interface Message {
  id?: number;
  method?: string;
  params?: { uri?: string; version?: number; diagnostics?: Array<{ severity?: number }> };
  error?: { message: string };
}

/** A minimal LSP client over the server's stdin and stdout (Content-Length framing). */
class LspProcess {
  readonly child: ChildProcess;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly waiters: Array<(m: Message) => boolean> = [];
  private stderr = '';

  constructor() {
    this.child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => this.receive(d));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${SERVER} did not start`);
    return this.child.pid;
  }

  private receive(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString());
      if (!length) throw new Error(`language server sent a header without Content-Length`);
      const total = end + 4 + Number(length[1]);
      if (this.buffer.length < total) return;
      const message = JSON.parse(this.buffer.subarray(end + 4, total).toString()) as Message;
      this.buffer = this.buffer.subarray(total);
      // A request from the server (configuration, capability registration): answer empty.
      if (message.id !== undefined && message.method) {
        this.send({ jsonrpc: '2.0', id: message.id, result: null });
      }
      const i = this.waiters.findIndex((w) => w(message));
      if (i >= 0) this.waiters.splice(i, 1);
    }
  }

  send(message: object): void {
    const body = JSON.stringify(message);
    this.child.stdin?.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  private waitFor(what: string, match: (m: Message) => boolean, ms = 30_000): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`language server: no ${what} in ${ms} ms\n${this.stderr}`)),
        ms,
      );
      this.waiters.push((m) => {
        if (!match(m)) return false;
        clearTimeout(timer);
        resolve(m);
        return true;
      });
    });
  }

  async request(method: string, params: object): Promise<Message> {
    const id = this.nextId++;
    const answer = this.waitFor(`answer to ${method}`, (m) => m.id === id && !m.method);
    this.send({ jsonrpc: '2.0', id, method, params });
    const m = await answer;
    if (m.error) throw new Error(`language server refused ${method}: ${m.error.message}`);
    return m;
  }

  notify(method: string, params: object): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /** Sends `text` as version `version` of `uri` and waits for that version's diagnostics. */
  async diagnose(uri: string, version: number, text: string): Promise<Message> {
    const published = this.waitFor(
      `diagnostics for version ${version}`,
      (m) =>
        m.method === 'textDocument/publishDiagnostics' &&
        m.params?.uri === uri &&
        m.params.version === version,
    );
    if (version === 1) {
      this.notify('textDocument/didOpen', {
        textDocument: { uri, languageId: 'cedar', version, text },
      });
    } else {
      this.notify('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: [{ text }],
      });
    }
    return published;
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.request('shutdown', {}).catch(() => undefined);
    this.notify('exit', {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export interface LspSizes {
  statements: number[];
  pairs: number;
  budgetMs: number;
  memory: MemorySizes;
}

export async function lspBenchmarks(
  sizes: LspSizes,
  log: (line: string) => void,
): Promise<Result[]> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-bench-ls-'));
  const server = new LspProcess();
  const idle = new IdleNode();
  const results: Result[] = [];
  try {
    const root = pathToFileURL(folder).href;
    await server.request('initialize', {
      processId: process.pid,
      rootUri: root,
      workspaceFolders: [{ uri: root, name: 'bench' }],
      capabilities: {},
    });
    server.notify('initialized', {});
    for (const n of sizes.statements) {
      const text = withStatements(n);
      const uri = pathToFileURL(path.join(folder, `policy-${n}.cedar`)).href;
      let version = 1;
      // An exact-path forbid (every third generated rule, never a connect one) near the middle.
      const target = `"/srv/bench/${30 * Math.floor(n / 60)}/key"`;
      const edit = async (): Promise<number[]> => {
        version++;
        const started = performance.now();
        // One policy near the middle changes (a new path each time), as when typing in it.
        const edited = text.replace(target, `"/srv/bench/edited-${version}/key"`);
        if (edited === text) throw new Error(`lsp bench: ${target} is not in the policy`);
        const m = await server.diagnose(uri, version, edited);
        const errors = (m.params?.diagnostics ?? []).filter((d) => d.severity === 1);
        if (errors.length > 0)
          throw new Error(`the ${n}-statement policy has errors in the server`);
        return [performance.now() - started - DEBOUNCE_MS];
      };
      await server.diagnose(uri, 1, text);
      const timed = (fn: () => void): Promise<number[]> => {
        const started = performance.now();
        fn();
        return Promise.resolve([performance.now() - started]);
      };
      const pairs = await interleave(
        { pairs: sizes.pairs, warmup: 1, budgetMs: sizes.budgetMs },
        edit,
        () => timed(() => cedarOnly(text)),
      );
      const ms = (rows: number[][]) => ({ samples: rows.map((r) => r[0] as number) });
      const r = summarise(
        `lsp_diag_ms/${n}-statements`,
        'ms',
        ms(pairs.a),
        ms(pairs.b),
        `didChange (one policy near the middle edited) to its publishDiagnostics, less ` +
          `the server's ` +
          `${DEBOUNCE_MS} ms debounce; baseline: cedar-wasm parse + strict validate in process`,
      );
      log(`${r.name}: ${r.value} ms (${r.samples} pairs)`);
      results.push(r);
    }
    const largest = Math.max(...sizes.statements);
    const mem = await compareResident(
      `memory_mb/language-server/${largest}-statements`,
      server.pid,
      idle,
      sizes.memory,
      `the language server over stdio with files of ${sizes.statements.join(' and ')} ` +
        `statements open and checked`,
    );
    log(`${mem.name}: ${mem.value} MB`);
    results.push(mem);
  } finally {
    idle.stop();
    await server.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  }
  return results;
}
