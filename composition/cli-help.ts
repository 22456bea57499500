/**
 * The command's help, generated from the config schema (node/config.ts): every key's flag, environment
 * variable, default and description come from the schema itself, so the help cannot drift from what the
 * node accepts.
 */
import type { z } from 'zod';
import { configSchema } from '../node/config.ts';

export const COMMANDS = ['start', 'gc', 'help'] as const;

type ConfigKey = keyof typeof configSchema.shape;

/** tickMs → tick-ms */
export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** tickMs → ODYSSEY_TICK_MS */
export const envName = (key: string): string => `ODYSSEY_${flagName(key).replace(/-/g, '_').toUpperCase()}`;

export function configKeys(): ConfigKey[] {
  return Object.keys(configSchema.shape) as ConfigKey[];
}

/** The allowed values of an enum key (looking through default/describe wrappers), else undefined. */
function choices(schema: z.ZodType): readonly string[] | undefined {
  let s = schema as unknown as { def?: { type?: string; innerType?: unknown; entries?: object } };
  for (let i = 0; i < 5 && s?.def; i++) {
    if (s.def.type === 'enum' && s.def.entries) return Object.values(s.def.entries);
    s = s.def.innerType as typeof s;
  }
  return undefined;
}

function placeholder(key: ConfigKey, value: unknown): string {
  const allowed = choices(configSchema.shape[key] as z.ZodType);
  if (allowed) return allowed.join('|');
  if (typeof value === 'number') return 'N';
  if (Array.isArray(value)) return 'JSON';
  return 'TEXT';
}

function shownDefault(value: unknown): string {
  if (value === '') return '(empty)';
  if (Array.isArray(value)) return value.length ? JSON.stringify(value) : '[] (none)';
  return String(value);
}

/** One entry per key: `--flag VALUE`, its environment variable, its default, its description. */
export function flagTable(): string {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const rows = configKeys().map((key) => {
    const value = defaults[key];
    const description = (configSchema.shape[key] as z.ZodType).description ?? '';
    return `  --${flagName(key)} ${placeholder(key, value)}\n      env ${envName(key)}, default ${shownDefault(value)}\n      ${description}`;
  });
  return rows.join('\n');
}

const START_USAGE = `usage: odyssey-node start [--config FILE] [--FLAG VALUE | --FLAG=VALUE]...

Starts a node. Configuration: defaults < --config FILE (JSON, keys as below in camelCase) < ODYSSEY_*
environment variables < flags. SIGINT/SIGTERM stop it cleanly.`;

const GC_USAGE = `usage: odyssey-node gc [--config FILE] [--FLAG VALUE]...

Asset garbage collection on a stopped node's data dir: removes assets no world references (after
--asset-gc-grace-ms) and the blocks no pin covers; prints one JSON line. It reads the same configuration
as start (what matters: --data, --asset-gc-grace-ms, the asset and pinning keys, logging; logs at warn
unless --log-level or ODYSSEY_LOG_LEVEL says otherwise).`;

const MAIN_USAGE = `usage: odyssey-node [start|gc|help] [--FLAG VALUE]...

Commands:
  start   run a node (the default command)
  gc      asset garbage collection on a stopped node's data dir
  help    this text (also --help, -h; \`odyssey-node COMMAND --help\` for one command)`;

export function helpText(command?: 'start' | 'gc'): string {
  const head =
    command === 'gc' ? GC_USAGE : command === 'start' ? START_USAGE : `${MAIN_USAGE}\n\n${START_USAGE}`;
  return `${head}\n\nFlags (each also an environment variable):\n  --config FILE\n      a JSON file of config keys\n  --help, -h\n      this text\n${flagTable()}\n`;
}

/** The closest of `candidates` to `input` if it is near enough to be a likely typo. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(input.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(input, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length];
}
