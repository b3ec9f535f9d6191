// The `telnetlogin` command line: one file per command, each exporting a
// function that adds itself to the program.
import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.ts';

// Each command loads its own dependencies only when it runs: a sensor does not
// carry the PostgreSQL and NATS clients, and `events` starts quickly.
type AddCommand = (program: Command) => void;
const commands: Record<string, () => Promise<AddCommand>> = {
  run: async () => (await import('./run.ts')).addRunCommand,
  sensor: async () => (await import('./sensor.ts')).addSensorCommand,
  collector: async () => (await import('./collector.ts')).addCollectorCommand,
  serve: async () => (await import('./serve.ts')).addServeCommand,
  feed: async () => (await import('./feed.ts')).addFeedCommand,
  events: async () => (await import('./events.ts')).addEventsCommand,
  import: async () => (await import('./import.ts')).addImportCommand,
  sensors: async () => (await import('./sensors.ts')).addSensorsCommand,
  asdb: async () => (await import('./asdb.ts')).addAsdbCommand,
};

const program = new Command('telnetlogin')
  .description('TELNET login sensor and threat feed')
  .version(process.env.npm_package_version ?? '0.1.0')
  .exitOverride()
  .showHelpAfterError();

// The command named on the command line, or all of them (for help and errors).
const named = process.argv[2];
const wanted = named !== undefined && Object.hasOwn(commands, named) ? [named] : Object.keys(commands);
for (const name of wanted) (await commands[name]!())(program);

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
