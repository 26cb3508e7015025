// `npm start`: builds the extension, installs code-server (a real VS Code 1.100.3)
// on first use, creates a few demo segments with numpy, and serves VS Code with
// SHM Inspector loaded on a free loopback port. Prints the URL to open; Ctrl+C
// stops it and removes the demo segments.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
process.chdir(root);

if (!process.argv.includes('--no-build')) {
  const b = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const require = createRequire(import.meta.url);
const { ensureCodeServer, ensureDebPackages, startCodeServer, workbenchUrl } = require(join(root, 'out', 'test', 'harness', 'code-server.js'));

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
function haveNumpy() {
  return spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
}
if (!haveNumpy()) ensureDebPackages(['python3-numpy']);
ensureCodeServer();

const demo = join(root, 'scripts', 'demo_segments.py');
console.log('Demo segments:');
execFileSync(python, [demo], { stdio: 'inherit' });

const state = join(root, '.cache', 'vscode');
const workspace = join(state, 'workspace');
mkdirSync(workspace, { recursive: true });
const port = process.env.PORT ? Number(process.env.PORT) : undefined;
const server = await startCodeServer({
  userDataDir: join(state, 'user-data'),
  extensionsDir: join(state, 'extensions'),
  folder: workspace,
  port,
  quiet: true,
});
const url = workbenchUrl(server.base, { folder: workspace, extensionPath: root });
console.log(`\nSHM Inspector is running in VS Code 1.100.3 (code-server) at:\n\n  ${url}\n`);
console.log('Open the "Shared Memory" view in the activity bar. Over SSH, forward the port first:');
console.log(`  ssh -L ${server.port}:127.0.0.1:${server.port} <host>`);
console.log('Press Ctrl+C to stop (the demo segments are removed).');

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.stop();
  spawnSync(python, [demo, '--remove'], { stdio: 'ignore' });
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// A closed terminal (an SSH session that dropped) must not leave the demo segments behind either.
process.on('SIGHUP', stop);
server.proc.on('exit', (code) => {
  if (!stopping) {
    console.error(`code-server exited (${code})`);
    spawnSync(python, [demo, '--remove'], { stdio: 'ignore' });
    process.exit(1);
  }
});
