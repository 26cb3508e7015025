/**
 * The integration suite's entry: runs inside the VS Code extension host (the
 * `run()` contract of @vscode/test-electron) and writes its counts to
 * SHM_TEST_RESULTS for the summary line of `npm test`.
 */
import * as fs from 'fs';
import Mocha from 'mocha';
import * as path from 'path';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  const grep = process.env.SHM_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const f of fs.readdirSync(__dirname).sort()) {
    if (f.endsWith('.test.js')) mocha.addFile(path.join(__dirname, f));
  }
  const counts = { passed: 0, failed: 0, pending: 0 };
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      if (process.env.SHM_TEST_RESULTS) fs.writeFileSync(process.env.SHM_TEST_RESULTS, JSON.stringify(counts));
      if (failures > 0) reject(new Error(`${failures} integration tests failed`));
      else resolve();
    });
    runner.on('pass', () => counts.passed++);
    runner.on('fail', () => counts.failed++);
    runner.on('pending', () => counts.pending++);
  });
}
