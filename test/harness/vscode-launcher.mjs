#!/usr/bin/env node
// A stand-in for the VS Code desktop executable, for @vscode/test-electron's
// runTests({ vscodeExecutablePath }) on machines that cannot download VS Code:
// it starts code-server (a real VS Code 1.100.3: server + web workbench), opens
// the workbench in headless Chromium with the test payload, relays the
// extension host's log, and exits with the suite's exit code.
//
// It accepts test-electron's flags (all --flag=value; a folder is positional)
// and ignores the ones that only make sense for Electron.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';

// The shared helpers are TypeScript, transpiled by `npm run build` into out/.
const require = createRequire(import.meta.url);
const { chromiumOptions, startCodeServer, workbenchUrl } = require(
  resolve(new URL('.', import.meta.url).pathname, '..', '..', process.env.SHM_OUT || 'out', 'test', 'harness', 'code-server.js'),
);

const WATCHDOG_MS = Number(process.env.SHM_LAUNCHER_TIMEOUT_MS || 10 * 60_000);
const started = Date.now();

function parse(argv) {
  const flags = {};
  const positional = [];
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m) flags[m[1]] = m[2] ?? true;
    else positional.push(a);
  }
  return { flags, positional };
}

/** test-electron may pass plain paths or vscode-remote:// URIs; we want the path. */
function toPath(v) {
  if (typeof v !== 'string') return undefined;
  if (v.startsWith('vscode-remote://') || v.startsWith('file://')) return decodeURIComponent(new URL(v).pathname);
  return resolve(v);
}

const { flags, positional } = parse(process.argv.slice(2));
const testsPath = toPath(flags.extensionTestsPath);
const extensionPath = toPath(flags.extensionDevelopmentPath);
if (!extensionPath) {
  console.error('vscode-launcher: --extensionDevelopmentPath is required');
  process.exit(2);
}
const scratch = mkdtempSync(join(tmpdir(), 'shmi-vscode-'));
const userDataDir = toPath(flags['user-data-dir']) ?? join(scratch, 'user-data');
const extensionsDir = toPath(flags['extensions-dir']) ?? join(scratch, 'extensions');
const folder = positional[0] ? resolve(positional[0]) : undefined;

let server;
let browser;
let exiting = false;

async function cleanup() {
  try {
    await browser?.close();
  } catch {
    // ignore
  }
  server?.stop();
  rmSync(scratch, { recursive: true, force: true });
}

async function finish(code) {
  if (exiting) return;
  exiting = true;
  await cleanup();
  process.exit(code);
}

process.on('exit', () => server?.stop());
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => void finish(130));
const watchdog = setTimeout(() => {
  console.error(`vscode-launcher: no result within ${WATCHDOG_MS} ms; giving up`);
  void finish(124);
}, WATCHDOG_MS);
watchdog.unref();

try {
  server = await startCodeServer({ userDataDir, extensionsDir, folder });
  console.log(`vscode-launcher: code-server (VS Code 1.100.3) on ${server.base}, started in ${Date.now() - started} ms`);
  browser = await chromium.launch(chromiumOptions());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  let resolveExit;
  const exitCode = new Promise((r) => (resolveExit = r));
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = format(...(Array.isArray(args) ? args : [args]));
    if (/getaddrinfo ENOTFOUND open-vsx\.org/.test(text)) return; // the gallery: no network here
    (type === 'error' ? process.stderr : process.stdout).write(text.endsWith('\n') ? text : text + '\n');
  });
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  page.on('pageerror', (e) => console.error(`vscode-launcher: page error: ${e.message}`));
  await page.goto(workbenchUrl(server.base, { folder, extensionPath, testsPath }));
  if (!testsPath) {
    console.log('vscode-launcher: workbench open (no extensionTestsPath): press Ctrl+C to stop');
  }
  const code = await exitCode;
  await finish(typeof code === 'number' ? code : 1);
} catch (e) {
  console.error(`vscode-launcher: ${e instanceof Error ? e.stack : e}`);
  await finish(1);
}
