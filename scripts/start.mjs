// `npm start`: builds the extension, installs what is missing (numpy for the demo, and
// code-server, a real VS Code 1.100.3, on first use), creates a few demo segments with
// numpy, and serves VS Code with SHM Inspector loaded on a free loopback port. Prints a
// line per step and the URL to open; the full output of every command goes to a log file
// it names. Waits for apt's lock when another apt holds it. Ctrl+C says "stopping…",
// stops it and removes the demo segments.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Steps } from './start-steps.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
process.chdir(root);
let steps;
try {
  steps = new Steps();
} catch (e) {
  console.error(`SHM Inspector: ${e.message}`);
  process.exit(1);
}
console.log(`SHM Inspector: starting (full log: ${steps.logFile})`);

if (!process.argv.includes('--no-build')) {
  await steps.step('building the extension (type check, bundle)', () => steps.run('npm', ['run', 'build']));
}
const require = createRequire(import.meta.url);
const { codeServerInstall, missingDebPackages, startCodeServer, workbenchUrl, CODE_SERVER_VERSION } = require(
  join(root, 'out', 'test', 'harness', 'code-server.js'),
);

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const haveNumpy = () => spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const install = codeServerInstall();
const debs = [...new Set([...(haveNumpy() ? [] : ['python3-numpy']), ...(install ? missingDebPackages(install.aptPackages) : [])])];
if (debs.length > 0) {
  await steps.step(`installing ${debs.join(', ')} with apt-get`, () => steps.aptInstall(debs));
}
if (install) {
  await steps.step(`installing code-server ${CODE_SERVER_VERSION} with npm (first use only, about a minute)`, async () => {
    install.prepare();
    await steps.run('npm', install.npm.args, { cwd: install.npm.cwd, env: install.npm.env });
    if (!existsSync(install.bin)) throw new Error(`npm finished but ${install.bin} is missing`);
  });
}

const demo = join(root, 'scripts', 'demo_segments.py');
const removeDemo = () => spawnSync(python, [demo, '--remove'], { stdio: 'ignore' });
let codeServer = null;
steps.stopWith(async () => {
  // Its own process group (detached): stopped whole, also when Ctrl+C comes while it starts.
  try {
    if (codeServer?.pid) process.kill(-codeServer.pid, 'SIGTERM');
  } catch {
    // gone already
  }
  removeDemo();
});
await steps.step('creating the demo segments in /dev/shm (shmi_demo_*)', () => steps.run(python, [demo]));

const state = join(root, '.cache', 'vscode');
const workspace = join(state, 'workspace');
mkdirSync(workspace, { recursive: true });
const port = process.env.PORT ? Number(process.env.PORT) : undefined;
const server = await steps.step('starting code-server', () =>
  startCodeServer({
    userDataDir: join(state, 'user-data'),
    extensionsDir: join(state, 'extensions'),
    folder: workspace,
    port,
    quiet: true,
    onSpawn: (p) => (codeServer = p),
  }),
);
const url = workbenchUrl(server.base, { folder: workspace, extensionPath: root });
console.log(`\nSHM Inspector is running in VS Code 1.100.3 (code-server) at:\n\n  ${url}\n`);
console.log('Open the "Shared Memory" view in the activity bar. Over SSH, forward the port first:');
console.log(`  ssh -L ${server.port}:127.0.0.1:${server.port} <host>`);
console.log('Press Ctrl+C to stop (the demo segments are removed).');

// A closed terminal (an SSH session that dropped) stops it too (SIGHUP): the demo segments never stay behind.
server.proc.on('exit', (code) => {
  if (!steps.stopRequested) {
    console.error(`code-server exited (${code}); see ${steps.logFile}`);
    removeDemo();
    process.exit(1);
  }
});
