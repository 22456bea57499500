import { type Logger, pino } from 'pino';

/** Structured JSON logs on stdout. */
export function createLogger(level: string, name = 'odyssey-node'): Logger {
  return pino({ name, level });
}
