import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEBOUNCE_MS } from './diagnostics';
import { startServer, type Client } from './lsp-client';

/** A policy file of `n` statements: reads by directory, write forbids by suffix, connects. */
function policyOf(n: number): string {
  const action = (name: string): string => `action == Leash::Action::"${name}"`;
  let text = `@id("exec") permit (principal, ${action('Exec')}, resource);\n`;
  for (let i = 1; i < n; i++) {
    const head = `@id("p${i}") ${i % 3 === 1 ? 'forbid' : 'permit'} (principal,`;
    if (i % 3 === 0) {
      text += `${head} ${action('ReadFile')}, resource in Leash::Dir::"/data/d${i}");\n`;
    } else if (i % 3 === 1) {
      text += `${head} ${action('WriteFile')}, resource) when { resource.path like "*.x${i}" };\n`;
    } else {
      const net = `ip("10.${(i >> 8) & 255}.${i & 255}.0/24")`;
      const when = `resource.ip.isInRange(${net}) && resource.port == 443`;
      text += `${head} ${action('Connect')}, resource) when { ${when} };\n`;
    }
  }
  return text;
}

/** Milliseconds from an edit to its diagnostics, less the pause the server waits for. */
async function latency(client: Client, statements: number): Promise<number> {
  const text = policyOf(statements);
  const uri = client.open(`size-${statements}.cedar`, text);
  await client.diagnostics(uri, 1);
  const samples: number[] = [];
  for (let version = 2; version <= 4; version++) {
    const started = performance.now();
    client.change(uri, version, `${text}// edit ${version}\n`);
    const { diagnostics } = await client.diagnostics(uri, version);
    samples.push(performance.now() - started - DEBOUNCE_MS);
    assert.ok(
      diagnostics.every((d) => d.severity !== 1),
      'the file checks',
    );
  }
  return samples.sort((a, b) => a - b)[1] as number;
}

describe('latency', () => {
  let client: Client;
  before(async () => {
    client = await startServer();
  });
  after(async () => {
    await client.stop();
  });

  it('publishes diagnostics for 100 and 2,000 statements within a second and five', async () => {
    const small = await latency(client, 100);
    const large = await latency(client, 2000);
    console.log(
      `diagnostics after an edit, beyond the ${DEBOUNCE_MS} ms pause (median of 3): ` +
        `100 statements ${small.toFixed(0)} ms, 2,000 statements ${large.toFixed(0)} ms`,
    );
    assert.ok(small < 1000, `100 statements took ${small} ms`);
    assert.ok(large < 5000, `2,000 statements took ${large} ms`);
  });
});
