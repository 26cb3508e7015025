// code-server 4.100.3 (VS Code 1.100.3) from npm: installed on first use into
// .cache/code-server, started on a free loopback port. Used by `npm start`, by
// the integration launcher (a stand-in for VS Code desktop) and by the e2e tests.
// See ../../../shared/vscode-harness.md for why each workaround is needed.
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer, type AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

/** The repository root (this file runs from <root>/<out>/test/harness/). */
export const ROOT = resolve(__dirname, '..', '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
const CACHE = join(ROOT, '.cache', 'code-server');
const BIN = join(CACHE, 'node_modules', '.bin', 'code-server');
/** System packages code-server's install needs here (kerberos compiles against gssapi; rg replaces a download). */
const APT_PACKAGES = ['libkrb5-dev', 'ripgrep'];

function log(msg: string): void {
  process.stderr.write(`[code-server] ${msg}\n`);
}

export function missingDebPackages(pkgs: string[]): string[] {
  return pkgs.filter((p) => {
    try {
      const out = execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return !out.includes('install ok installed');
    } catch {
      return true;
    }
  });
}

/** Installs missing Debian packages as root, or says exactly what to run. */
export function ensureDebPackages(pkgs: string[]): void {
  const missing = missingDebPackages(pkgs);
  if (missing.length === 0) return;
  const line = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid && process.getuid() === 0) {
    log(`installing ${missing.join(', ')} with apt-get`);
    execFileSync('sh', ['-c', `apt-get update -q && DEBIAN_FRONTEND=noninteractive ${line}`], { stdio: 'inherit' });
  } else {
    throw new Error(`missing system packages: ${missing.join(', ')}. Run, as root:\n  sudo ${line}`);
  }
}

/** @vscode/ripgrep's postinstall downloads rg unless this cached archive exists: give it Debian's rg. */
function seedRipgrepCache(): void {
  const dir = join(tmpdir(), 'vscode-ripgrep-cache-1.15.11');
  const archive = join(dir, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (existsSync(archive)) return;
  mkdirSync(dir, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), 'rg-'));
  copyFileSync('/usr/bin/rg', join(stage, 'rg'));
  execFileSync('tar', ['-czf', archive, '-C', stage, 'rg']);
  rmSync(stage, { recursive: true, force: true });
}

/**
 * What installing code-server takes (null when it is installed): the Debian packages, a
 * preparation, and the npm command. `npm start` runs these steps itself, logging to a file.
 */
export function codeServerInstall(): { bin: string; aptPackages: string[]; prepare(): void; npm: { args: string[]; cwd: string; env: NodeJS.ProcessEnv } } | null {
  if (process.env.SHM_CODE_SERVER_BIN || existsSync(BIN)) return null;
  return {
    bin: BIN,
    aptPackages: APT_PACKAGES,
    prepare() {
      seedRipgrepCache();
      mkdirSync(CACHE, { recursive: true });
      writeFileSync(join(CACHE, 'package.json'), JSON.stringify({ name: 'code-server-cache', private: true }));
    },
    npm: {
      args: ['install', '--no-save', '--no-audit', '--no-fund', '--unsafe-perm', `code-server@${CODE_SERVER_VERSION}`],
      cwd: CACHE,
      env: { ...process.env, npm_config_yes: 'true', npm_config_nodedir: process.env.npm_config_nodedir || '/usr' },
    },
  };
}

/** Path of the code-server binary, installing it on first use (about a minute). */
export function ensureCodeServer(): string {
  const plan = codeServerInstall();
  if (!plan) return process.env.SHM_CODE_SERVER_BIN || BIN;
  ensureDebPackages(plan.aptPackages);
  plan.prepare();
  log(`installing code-server@${CODE_SERVER_VERSION} into ${CACHE} (first use only)`);
  execFileSync('npm', plan.npm.args, { cwd: plan.npm.cwd, stdio: ['ignore', 'inherit', 'inherit'], env: plan.npm.env });
  if (!existsSync(BIN)) throw new Error(`code-server install finished but ${BIN} is missing`);
  return BIN;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });
}

async function waitForHttp(url: string, ms: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + ms;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`code-server exited with ${proc.exitCode} during start`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer at ${url} within ${ms} ms: ${lastErr}`);
}

/**
 * Starts code-server with the given dirs. Returns {port, base, proc, stop}.
 * User settings turn off workspace trust (its modal blocks every click) and the welcome page.
 */
export interface CodeServerOptions {
  userDataDir: string;
  extensionsDir: string;
  folder?: string;
  port?: number;
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
  quiet?: boolean;
  /** Called with the code-server process as soon as it is spawned (npm start stops it on Ctrl+C during start-up). */
  onSpawn?: (proc: ChildProcess) => void;
}

export interface CodeServer {
  port: number;
  base: string;
  proc: ChildProcess;
  stop(): void;
}

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  const { userDataDir, extensionsDir, folder, env = {}, settings = {}, quiet = true } = opts;
  let port = opts.port;
  const bin = ensureCodeServer();
  port = port ?? (await freePort());
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'security.workspace.trust.enabled': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'git.openRepositoryInParentFolders': 'never',
        'workbench.enableExperiments': false,
        ...settings,
      },
      null,
      2,
    ),
  );
  const config = join(userDataDir, 'code-server.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const args = [
    '--config',
    config,
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
  ];
  if (folder) args.push(folder);
  const proc: ChildProcess = spawn(bin, args, {
    detached: true,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', quiet ? 'ignore' : 'inherit'],
    env: { ...process.env, ...env },
  });
  opts.onSpawn?.(proc);
  const stop = () => {
    try {
      if (proc.pid) process.kill(-proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, proc);
  } catch (e) {
    stop();
    throw e;
  }
  return { port, base: `http://127.0.0.1:${port}`, proc, stop };
}

/** Chromium launch options that work on these machines (Debian's chromium, no network). */
export function chromiumOptions() {
  const executablePath = process.env.SHM_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}. Run, as root:\n  sudo apt-get install -y chromium`);
  }
  return {
    executablePath,
    headless: true,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  };
}

/** The workbench URL that opens `folder` with the extension at `extensionPath` (and an optional test suite). */
export function workbenchUrl(base: string, p: { folder?: string; extensionPath: string; testsPath?: string }): string {
  const { folder, extensionPath, testsPath } = p;
  const host = new URL(base).host;
  const payload: [string, string][] = [['extensionDevelopmentPath', `vscode-remote://${host}${extensionPath}`]];
  if (testsPath) payload.push(['extensionTestsPath', `vscode-remote://${host}${testsPath}`]);
  const q = new URLSearchParams();
  if (folder) q.set('folder', folder);
  q.set('payload', JSON.stringify(payload));
  return `${base}/?${q.toString()}`;
}
