// `npm test`'s first level: ESLint, then Prettier's check (the package.json scripts lint:eslint and
// lint:prettier), each counted as one check in the final `N passed, N failed` line, so that a lint failure
// fails `npm test` without stopping the test levels after it. Writes {passed, failed, pending} to
// test-results/lint.json, like mocha-level.mjs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const checks = [
  { script: 'lint:eslint', failure: 'ESLint reported the problems above: fix them (`npx eslint --fix .` fixes some), or see eslint.config.mjs' },
  { script: 'lint:prettier', failure: 'the files above are not formatted as Prettier formats them: run `npm run format`' },
];

const counts = { passed: 0, failed: 0, pending: 0 };
for (const { script, failure } of checks) {
  const r = spawnSync('npm', ['run', '--silent', script], { stdio: 'inherit', env: process.env });
  if (r.status === 0) {
    counts.passed++;
    console.log(`lint: ${script} passed`);
  } else {
    counts.failed++;
    const why = r.error ? `could not run npm (${r.error.message})` : `exit ${r.status ?? r.signal}`;
    console.error(`lint: ${script} failed (${why}): ${failure}`);
  }
}
const results = process.env.SHM_RESULTS || 'test-results';
mkdirSync(results, { recursive: true });
writeFileSync(join(results, 'lint.json'), JSON.stringify(counts));
process.exitCode = counts.failed > 0 ? 1 : 0;
