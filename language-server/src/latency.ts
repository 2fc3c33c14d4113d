/**
 * The diagnostics latency figure (`lsp_diag_ms`): a real server over stdio, a policy file of a
 * given size, and the time from a one-policy edit to its diagnostics, less the pause the
 * server waits for typing to stop. The latency test prints it; the benchmark calls
 * `diagnosticLatency` for its own figure.
 */
import { DEBOUNCE_MS } from './diagnostics';
import { startServer, type Client } from './lsp-client';

/** A policy file of `n` statements: reads by directory, write forbids by suffix, connects. */
export function policyOf(n: number): string {
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

export interface Latency {
  statements: number;
  /** Milliseconds from each edit to its diagnostics, beyond the debounce pause, in order. */
  samples: number[];
  median: number;
  /** Error diagnostics seen after any edit (the file is meant to check cleanly). */
  errors: number;
}

/**
 * Opens a file of `statements` policies and edits one policy near its middle `edits` times
 * (a new directory each time), waiting for each edit's diagnostics.
 */
export async function measureLatency(
  client: Client,
  statements: number,
  edits: number,
): Promise<Latency> {
  const text = policyOf(statements);
  const target = 3 * Math.floor(statements / 6);
  const uri = client.open(`size-${statements}.cedar`, text);
  await client.diagnostics(uri, 1);
  const samples: number[] = [];
  let errors = 0;
  for (let edit = 1; edit <= edits; edit++) {
    const edited = text.replace(`"/data/d${target}"`, `"/data/edited-${edit}"`);
    const started = performance.now();
    client.change(uri, edit + 1, edited);
    const { diagnostics } = await client.diagnostics(uri, edit + 1);
    samples.push(performance.now() - started - DEBOUNCE_MS);
    errors += diagnostics.filter((d) => d.severity === 1).length;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { statements, samples, median: sorted[Math.floor(sorted.length / 2)] ?? NaN, errors };
}

/** The benchmark's entry: a server of its own, one file of `statements`, `edits` edits. */
export async function diagnosticLatency(statements: number, edits = 20): Promise<Latency> {
  const client = await startServer();
  try {
    return await measureLatency(client, statements, edits);
  } finally {
    await client.stop();
  }
}
