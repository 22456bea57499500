import { createRequire } from 'node:module';
import { type Logger, pino } from 'pino';

// pino-pretty (~30 modules) is loaded only for readable lines: a node logging JSON does not carry it.
const require = createRequire(import.meta.url);

export type LogFormat = 'auto' | 'json' | 'pretty';

/** `auto`: readable lines for a person at a terminal, JSON for anything that collects logs. */
export function resolveLogFormat(
  format: LogFormat,
  isTTY = Boolean(process.stdout.isTTY),
): 'json' | 'pretty' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

/** pino on stdout: JSON (one object a line) or readable lines, written synchronously either way. */
export function createLogger(level: string, format: LogFormat = 'auto', name = 'odyssey-node'): Logger {
  if (resolveLogFormat(format) === 'json') return pino({ name, level });
  const pretty: typeof import('pino-pretty') = require('pino-pretty');
  const stream = pretty({
    colorize: Boolean(process.stdout.isTTY),
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
  return pino({ name, level }, stream);
}
