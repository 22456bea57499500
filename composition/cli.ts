/**
 * `odyssey-node start [--flags]`: starts a node with config from --config FILE, ODYSSEY_* variables and
 * flags (flags win). SIGINT/SIGTERM stop it cleanly. `odyssey-node gc [--flags]`: asset garbage
 * collection on a stopped node's data dir. `--help`/`-h` on any command lists every flag (cli-help.ts).
 */
import { flushCompileCache } from 'node:module';
import { ConfigError, configFromFlags, loadConfig } from '../node/config.ts';
import { COMMANDS, configKeys, flagName, helpText, suggest } from './cli-help.ts';

// The node (libp2p, Helia, LevelDB...) is loaded only by the commands that run it: help and refusals of
// bad flags answer at once.
type OdysseyNode = import('./main.ts').OdysseyNode;

const wantsHelp = (args: string[]) => args.some((a) => a === '--help' || a === '-h');

async function main(argv: string[]): Promise<number> {
  // No command, or flags first, means `start`.
  const command = argv[0] === undefined || argv[0].startsWith('-') ? 'start' : argv[0];
  const rest = command === argv[0] ? argv.slice(1) : argv;
  if (command === 'help') {
    console.log(helpText());
    return 0;
  }
  if (command !== 'start' && command !== 'gc') {
    const near = suggest(command, COMMANDS);
    console.error(
      `odyssey-node: unknown command ${JSON.stringify(command)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; commands: ${COMMANDS.join(', ')}. See odyssey-node --help.`,
    );
    return 2;
  }
  if (wantsHelp(rest)) {
    // `odyssey-node --help` is the general help; `odyssey-node start --help` the command's.
    console.log(helpText(command === argv[0] ? command : undefined));
    return 0;
  }
  return command === 'gc' ? gc(rest) : start(rest);
}

/** Flags → config, with unknown flags named (and a likely intended one suggested). */
function configFrom(args: string[], command: string, extra: Record<string, string> = {}) {
  const { flags, configFile } = configFromFlags(args);
  const keys = configKeys() as string[];
  for (const key of Object.keys(flags)) {
    if (keys.includes(key)) continue;
    const near = suggest(flagName(key), keys.map(flagName));
    throw new ConfigError(
      `unknown flag --${flagName(key)}${near ? ` (did you mean --${near}?)` : ''}; see odyssey-node ${command} --help`,
    );
  }
  return loadConfig({ file: configFile, env: process.env, flags: { ...extra, ...flags } });
}

async function start(args: string[]): Promise<number> {
  let node: OdysseyNode;
  try {
    const config = configFrom(args, 'start');
    const { OdysseyNode } = await import('./main.ts');
    node = new OdysseyNode(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`odyssey-node: ${e.message}`);
    return 2;
  }
  // A promise rejected with nobody to hear it is a bug; by Node's default it ends the process, and with
  // it every session, world and transfer of the node. It is logged (an error, with its stack) instead.
  const running = node;
  process.on('unhandledRejection', (reason) => {
    running.log.error({ err: reason }, 'unhandled promise rejection (a bug): logged, the node keeps serving');
  });
  try {
    await node.start();
  } catch (e) {
    // start() has already released what it opened (listeners, LevelDB lock, timers).
    node.log.fatal({ err: e }, 'failed to start');
    console.error(`odyssey-node: failed to start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  // Every module the running node needs is loaded: write the compile cache now (bin/odyssey-node.js), not
  // only at exit, so that a node that is killed rather than stopped still starts lean the next time.
  flushCompileCache?.();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      node.log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await node.stop();
  return 0;
}

/** Removes assets no world references (after the grace period) and the blocks no pin covers. */
async function gc(args: string[]): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    // Quiet unless asked: the command's output is its one JSON line.
    const quiet: Record<string, string> = process.env.ODYSSEY_LOG_LEVEL ? {} : { logLevel: 'warn' };
    config = configFrom(args, 'gc', quiet);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`odyssey-node: ${e.message}`);
    return 2;
  }
  try {
    const [{ collectGarbage }, { VERSION }] = await Promise.all([import('./gc.ts'), import('./main.ts')]);
    const report = await collectGarbage(config, VERSION);
    console.log(JSON.stringify({ removed_assets: report.assets, removed_blocks: report.blocks }));
    return 0;
  } catch (e) {
    console.error(`odyssey-node gc: ${(e as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A failed start released what it opened; anything a library left behind (a timer, a socket it did
    // not close) must not keep a failed command alive.
    if (code !== 0) setTimeout(() => process.exit(code), 2000).unref();
  },
  (error) => {
    console.error('odyssey-node:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
