#!/usr/bin/env node
import { ADMIN_USAGE, runAdminCli } from './admin-cli.js';
import { peopleCommandOf, PEOPLE_USAGE, runPeopleCli } from './people-cli.js';
import { isPrivacyCommand, PRIVACY_USAGE, runPrivacyCli } from './privacy-cli.js';
import { AGENT_USAGE, isAgentCommand, runAgentCli } from './agent-cli.js';

const argv = process.argv.slice(2);
const io = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.env.INIT_CWD ?? process.cwd(),
};
// operators and audit (admin-cli), the people commands (people-cli) or `privacy …` (privacy-cli): all take --data-dir first
const people = peopleCommandOf(argv) !== undefined;
const privacy = isPrivacyCommand(argv);
// `agent …` / `mqtt …`: broker accounts, Mosquitto files, TLS (agent-cli)
const agentCmd = isAgentCommand(argv);
(agentCmd ? runAgentCli(argv, io) : privacy ? runPrivacyCli(argv, io) : people ? runPeopleCli(argv, io) : runAdminCli(argv, io)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `portail-admin failed: ${err instanceof Error ? err.message : String(err)}\n${agentCmd ? AGENT_USAGE : privacy ? PRIVACY_USAGE : people ? PEOPLE_USAGE : ADMIN_USAGE}\n`,
    );
    process.exitCode = 1;
  },
);
