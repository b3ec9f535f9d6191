// The `telnetlogin` command line: one file per command, each exporting a
// function that adds itself to the program.
import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.ts';
import { addRunCommand } from './run.ts';
import { addEventsCommand } from './events.ts';

const program = new Command('telnetlogin')
  .description('TELNET login sensor and threat feed')
  .version(process.env.npm_package_version ?? '0.1.0')
  .exitOverride()
  .showHelpAfterError();

addRunCommand(program);
addEventsCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 1 ? 2 : err.exitCode);
  if (err instanceof UsageError) {
    process.stderr.write(`telnetlogin: ${err.message}\n`);
    process.exit(2);
  }
  // Errors the operator can act on (a port in use, a permission) need no stack.
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && err instanceof Error) {
    process.stderr.write(`telnetlogin: ${err.message} (${code})\n`);
    process.exit(1);
  }
  throw err;
}
