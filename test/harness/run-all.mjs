// `npm test`: runs the lint (ESLint, Prettier's check), unit, integration and e2e
// levels one after another and ends with one line `N passed, N failed` summed over
// all of them (CI reads it). SHM_TEST_LEVELS=unit,e2e runs a subset.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const results = process.env.SHM_RESULTS || 'test-results';
const out = process.env.SHM_OUT || 'out';
const levels = (process.env.SHM_TEST_LEVELS || 'lint,unit,integration,e2e')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const commands = {
  lint: ['node', ['test/harness/lint-level.mjs']],
  unit: ['node', ['test/harness/mocha-level.mjs', 'unit']],
  integration: ['node', [join(out, 'test', 'integration', 'runTest.js')]],
  e2e: ['node', ['test/harness/mocha-level.mjs', 'e2e']],
};

mkdirSync(results, { recursive: true });
const total = { passed: 0, failed: 0, pending: 0 };
const lines = [];
for (const level of levels) {
  const cmd = commands[level];
  if (!cmd) {
    console.error(`unknown test level ${level}`);
    process.exit(2);
  }
  const file = join(results, `${level}.json`);
  rmSync(file, { force: true });
  console.log(`\n=== ${level} ===`);
  const t0 = Date.now();
  const r = spawnSync(cmd[0], cmd[1], { stdio: 'inherit', env: process.env });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  let counts;
  if (existsSync(file)) {
    counts = JSON.parse(readFileSync(file, 'utf8'));
  } else {
    // The level died before reporting (crash, no VS Code, no browser): count it as one failure.
    counts = { passed: 0, failed: 1, pending: 0 };
    console.error(`${level}: no results (exit ${r.status ?? r.signal}); counted as 1 failure`);
  }
  if (r.status !== 0 && counts.failed === 0) {
    counts.failed = 1;
    console.error(`${level}: runner exited with ${r.status ?? r.signal} although no test failed; counted as 1 failure`);
  }
  lines.push(`${level}: ${counts.passed} passed, ${counts.failed} failed${counts.pending ? `, ${counts.pending} pending` : ''} (${secs} s)`);
  for (const k of Object.keys(total)) total[k] += counts[k] ?? 0;
}
console.log('\n' + lines.join('\n'));
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exitCode = total.failed > 0 ? 1 : 0;
