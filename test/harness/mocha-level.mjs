// Runs one test level (out/test/<level>/**/*.test.js) with mocha in plain Node
// and writes {passed, failed, pending} to test-results/<level>.json.
import Mocha from 'mocha';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const level = process.argv[2];
const grep = process.env.SHM_TEST_GREP;
const root = resolve(process.env.SHM_OUT || 'out', 'test', level);

function files(dir) {
  const out = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', timeout: level === 'e2e' ? 120_000 : 30_000, color: true });
if (grep) mocha.grep(grep);
for (const f of files(root)) mocha.addFile(f);
const counts = { passed: 0, failed: 0, pending: 0 };
const results = process.env.SHM_RESULTS || 'test-results';
mkdirSync(results, { recursive: true });
const runner = mocha.run((failures) => {
  writeFileSync(join(results, `${level}.json`), JSON.stringify(counts));
  process.exitCode = failures > 0 ? 1 : 0;
});
runner.on('pass', () => counts.passed++);
runner.on('fail', () => counts.failed++);
runner.on('pending', () => counts.pending++);
