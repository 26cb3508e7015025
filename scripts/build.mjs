// Bundles the extension host code, the CLI and the webview with esbuild, and
// transpiles the tests (one file per module) for mocha. Type checking is
// `npm run typecheck` (tsc), which `npm run build` runs first.
import * as esbuild from 'esbuild';
import { readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// Tests are transpiled into OUT (default out/); parallel work trees can use their own.
const OUT = process.env.SHM_OUT || 'out';

function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** formats/arrow.ts loads './arrow-meta.js' at run time: next to the bundles, that is dist/arrow-meta.js. */
const lazyArrow = {
  name: 'lazy-arrow-meta',
  setup(b) {
    b.onResolve({ filter: /^\.\/arrow-meta\.js$/ }, () => ({ path: './arrow-meta.js', external: true }));
  },
};

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', plugins: [lazyArrow] };

const builds = [
  {
    ...common,
    entryPoints: { extension: 'extension/extension.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: { cli: 'extension/cli.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: { 'arrow-meta': 'extension/core/formats/arrow-meta.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts', table: 'webview/table-main.ts', picture: 'webview/picture-main.ts' },
    outdir: 'dist',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
  {
    // Tests and the modules they import, file by file (no bundling), for mocha.
    entryPoints: [...tsFiles('extension'), ...tsFiles('contract'), ...tsFiles('test'), ...tsFiles('webview')],
    outdir: OUT,
    outbase: '.',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  },
];

rmSync(OUT, { recursive: true, force: true });
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
  console.log('esbuild: watching');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  const { chmodSync } = await import('node:fs');
  chmodSync('dist/cli.js', 0o755);
}
