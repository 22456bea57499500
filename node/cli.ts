/**
 * `odyssey-node start [--flags]`: starts a node with config from --config FILE, ODYSSEY_* variables and
 * flags (flags win). SIGINT/SIGTERM stop it cleanly.
 */
import { ConfigError, configFromFlags, loadConfig } from './config.ts';
import { OdysseyNode } from './main.ts';

const USAGE = `usage: odyssey-node start [--config FILE] [--data DIR] [--host HOST] [--port PORT] [--tick-ms MS] [--name NAME] [--log-level LEVEL]`;

async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv;
  if (command === '--help' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error('odyssey-node: failed to start:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
