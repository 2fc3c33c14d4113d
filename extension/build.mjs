// Bundles the extension and the language server with esbuild into dist/bundle/, with the files
// they read at run time beside them: leashd's proto, the default policy and schema, cedar-wasm.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const out = join(here, 'dist', 'bundle');
const require = createRequire(import.meta.url);
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
};

mkdirSync(join(out, 'server'), { recursive: true });
await build({
  ...common,
  entryPoints: [join(here, 'src', 'extension.ts')],
  outfile: join(out, 'extension.js'),
  external: ['vscode'],
  sourcemap: true,
});
// The server's policy core finds its schema and default policy one folder up from its code.
await build({
  ...common,
  entryPoints: [join(repo, 'language-server', 'dist', 'server.js')],
  outfile: join(out, 'server', 'server.js'),
});

const wasm = join(
  dirname(require.resolve('@cedar-policy/cedar-wasm/nodejs')),
  'cedar_wasm_bg.wasm',
);
copyFileSync(wasm, join(out, 'server', 'cedar_wasm_bg.wasm'));
copyFileSync(join(repo, 'helper', 'proto', 'leash.proto'), join(out, 'leash.proto'));
copyFileSync(join(repo, 'policies', 'default.cedar'), join(out, 'default.cedar'));
copyFileSync(join(repo, 'policies', 'leash.cedarschema'), join(out, 'leash.cedarschema'));
