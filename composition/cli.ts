/**
 * `odyssey-node start [--flags]`: starts a node with config from --config FILE, ODYSSEY_* variables and
 * flags (flags win). SIGINT/SIGTERM stop it cleanly. `odyssey-node gc [--flags]`: asset garbage
 * collection on a stopped node's data dir.
 */
import { ConfigError, configFromFlags, loadConfig } from '../node/config.ts';
import { collectGarbage } from './gc.ts';
import { OdysseyNode, VERSION } from './main.ts';

const USAGE = `usage: odyssey-node start [--config FILE] [--data DIR] [--host HOST] [--port PORT] [--tick-ms MS] [--name NAME] [--log-level LEVEL]
       odyssey-node gc [--config FILE] [--data DIR] [--asset-gc-grace-ms MS]`;

async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv;
  if (command === '--help' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'gc') return gc(rest);
  if (command !== 'start') {
    console.error(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  let node: OdysseyNode;
  try {
    const { flags, configFile } = configFromFlags(rest);
    node = new OdysseyNode(loadConfig({ file: configFile, env: process.env, flags }));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`odyssey-node: ${e.message}`);
      return 2;
    }
    throw e;
  }
  await node.start();
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
    const { flags, configFile } = configFromFlags(args);
    // Quiet unless asked: the command's output is its one JSON line.
    const quiet = flags.logLevel || process.env.ODYSSEY_LOG_LEVEL ? {} : { logLevel: 'warn' };
    config = loadConfig({ file: configFile, env: process.env, flags: { ...quiet, ...flags } });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`odyssey-node: ${e.message}`);
    return 2;
  }
  try {
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
  },
  (error) => {
    console.error('odyssey-node: failed to start:', error instanceof Error ? error.message : error);
    // Whatever started before the failure (libp2p listeners, LevelDB, timers) must not keep us alive.
    process.exit(1);
  },
);
