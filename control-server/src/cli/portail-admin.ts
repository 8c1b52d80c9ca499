#!/usr/bin/env node
import { ADMIN_USAGE, runAdminCli } from './admin-cli.js';

runAdminCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.env.INIT_CWD ?? process.cwd(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`portail-admin failed: ${err instanceof Error ? err.message : String(err)}\n${ADMIN_USAGE}\n`);
    process.exitCode = 1;
  },
);
