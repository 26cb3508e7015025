/**
 * Runs the integration suite (./index.ts, inside a real VS Code extension host)
 * through @vscode/test-electron's runTests, in one of two VS Codes:
 *   SHM_INSPECTOR_VSCODE=code-server (default): code-server 4.100.3 driven by
 *     headless Chromium, through test/harness/vscode-launcher.mjs standing in
 *     for the desktop executable (works offline);
 *   SHM_INSPECTOR_VSCODE=desktop: the VS Code desktop build that test-electron
 *     downloads (needs network; SHM_INSPECTOR_VSCODE_VERSION picks the version).
 */
import { runTests } from '@vscode/test-electron';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const which = process.env.SHM_INSPECTOR_VSCODE ?? 'code-server';
  const results = path.resolve(process.env.SHM_RESULTS ?? path.join(root, 'test-results'), 'integration.json');
  fs.mkdirSync(path.dirname(results), { recursive: true });
  fs.rmSync(results, { force: true });
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-workspace-'));
  const common = {
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(__dirname, 'index'),
    extensionTestsEnv: { SHM_TEST_RESULTS: results },
    launchArgs: [workspace, '--disable-extensions'],
  };
  try {
    if (which === 'desktop') {
      console.log('integration: VS Code desktop, downloaded by @vscode/test-electron');
      await runTests({ ...common, version: process.env.SHM_INSPECTOR_VSCODE_VERSION ?? '1.100.3' });
    } else if (which === 'code-server') {
      console.log('integration: code-server 4.100.3 (VS Code 1.100.3) in headless Chromium, via test/harness/vscode-launcher.mjs');
      await runTests({ ...common, vscodeExecutablePath: path.join(root, 'test', 'harness', 'vscode-launcher.mjs') });
    } else {
      throw new Error(`SHM_INSPECTOR_VSCODE must be code-server or desktop, not '${which}'`);
    }
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`integration: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
});
