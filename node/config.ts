/**
 * Node configuration: defaults < config file (--config, JSON) < environment (ODYSSEY_*) < flags.
 * Validated at start; a bad value stops the node with a message naming the key and where it came from.
 */
import { readFileSync } from 'node:fs';
import { peerIdFromString } from '@libp2p/peer-id';
import { z } from 'zod';
import { chainsSchema } from '../harvester/config.ts';
import { parseBootstrap } from './federation/dialer.ts';
import { parseGeo } from './federation/geo.ts';
import { parseTrustProxy } from './http/client-address.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** An HTTP header name (RFC 9110 token), or '' for none; lowercased, as Node hands headers in. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]*$/, 'expected an HTTP header name')
  .max(100)
  .default('')
  .transform((s) => s.toLowerCase());

export const configSchema = z
  .object({
    data: z
      .string()
      .min(1)
      .default('./data')
      .describe(
        'Data directory: LevelDB (db/), the node secret, assets (ipfs/, cache/) and the libp2p key (peer-key).',
      ),
    host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP API and PosBus listen on.'),
    port: int(0, 65535).default(4000).describe('HTTP port of the API and PosBus (0 = any free port).'),
    name: z
      .string()
      .min(1)
      .max(100)
      .default('Odyssey node')
      .describe('Node name, shown to clients and announced to the federation.'),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Lowest log level written.'),
    logFormat: z
      .enum(['auto', 'json', 'pretty'])
      .default('auto')
      .describe(
        'Log lines: `json` (pino, one object a line), `pretty` (readable), `auto` = pretty when stdout is a terminal, JSON otherwise.',
      ),
    gitCommit: z
      .string()
      .max(64)
      .regex(/^[0-9a-fA-F]*$/, 'expected a hex commit id')
      .default('')
      .describe(
        'Commit shown by /version; empty = `git rev-parse HEAD` of the checkout the node runs from, if any.',
      ),
    metrics: z
      .enum(['off', 'on'])
      .default('off')
      .describe(
        '`on` serves Prometheus metrics at GET /metrics on the HTTP port (behind --metrics-token when set).',
      ),
    metricsToken: z
      .string()
      .default('')
      .refine((s) => s === '' || s.length >= 16, { message: 'expected at least 16 characters (or empty)' })
      .describe('Bearer token GET /metrics requires (`Authorization: Bearer <token>`); empty = no token.'),
    tickMs: int(10, 5000).default(100).describe('Position tick of every world.'),
    refreshMs: int(100, 600_000)
      .default(5000)
      .describe("Every user's position is re-sent at least this often, moved or not."),
    positionBatch: int(1, 700)
      .default(512)
      .describe(
        'Users per UsersTransformList frame (46 bytes each at most: 512 stays under a 32 KiB client read limit).',
      ),
    interestCellSize: z.coerce
      .number()
      .min(0)
      .max(1e6)
      .default(200)
      .describe(
        'Interest management: grid cell side in world units; members see users in the 3×3 cells around them. 0 = everyone sees everyone.',
      ),
    tokenTtlSeconds: int(60, 30 * 86400)
      .default(86400)
      .describe('Access token lifetime.'),
    maxFrameBytes: int(256, 1 << 20)
      .default(4096)
      .describe('Largest PosBus frame accepted after the handshake (the original: 1024).'),
    maxHandshakeBytes: int(256, 1 << 20)
      .default(16384)
      .describe('Largest HandShake frame (it carries the token).'),
    handshakeTimeoutMs: int(100, 600_000)
      .default(10_000)
      .describe('A PosBus connection that sends no HandShake this long is closed.'),
    messagesPerSecond: int(1, 100_000)
      .default(60)
      .describe('Sustained inbound PosBus messages per second per session.'),
    messageBurst: int(1, 100_000)
      .default(120)
      .describe('Burst of inbound PosBus messages allowed above --messages-per-second.'),
    teleportsPerMinute: int(1, 100_000)
      .default(30)
      .describe(
        'Sustained teleports per minute per session, with a burst of 5 (each one re-sends the world and re-announces the user to everyone in view).',
      ),
    maxBadFrames: int(0, 100_000)
      .default(20)
      .describe('Malformed or unexpected frames tolerated per session before it is closed.'),
    positionBacklogBytes: int(1024, 1 << 30)
      .default(256 * 1024)
      .describe('Bytes queued on a socket above which position frames are dropped (latest wins).'),
    maxQueuedBytes: int(64 * 1024, 1 << 30)
      .default(8 * 1024 * 1024)
      .describe('Bytes queued on a socket above which the session is closed as too slow.'),
    pingIntervalMs: int(100, 600_000)
      .default(30_000)
      .describe('WebSocket ping interval; a session that misses a pong is closed.'),
    resumeGraceMs: int(0, 600_000)
      .default(10_000)
      .describe(
        'How long a dropped session that negotiated resume keeps its avatar in the world; 0 = no resume.',
      ),
    resumeReplayBytes: int(0, 64 * 1024 * 1024)
      .default(256 * 1024)
      .describe(
        'Reliable frames a resumable session keeps for replay (bytes); a client that missed more gets a snapshot.',
      ),
    clientBudgetBytesPerSecond: int(0, 1 << 30)
      .default(0)
      .describe(
        'Position bytes per second per client (nearest first, fewer updates when over); 0 = no budget.',
      ),
    guestTtlMs: int(0, 30 * 86400_000)
      .default(20 * 60_000)
      .describe('Guests are deleted this long after their last session ended (the original: 20 minutes).'),
    authRequestsPerMinute: int(1, 100_000)
      .default(30)
      .describe('Requests per minute per client address on the auth routes (challenge, token, guest token).'),
    challengeTtlMs: int(100, 3_600_000)
      .default(5 * 60_000)
      .describe('How long a wallet sign-in challenge stays valid.'),
    activityPostsPerMinute: int(1, 100_000)
      .default(10)
      .describe('Timeline posts a user may make per minute.'),
    objectCreatesPerMinute: int(1, 100_000).default(60).describe('Objects a user may create per minute.'),
    stakeReportsPerMinute: int(1, 100_000)
      .default(10)
      .describe(
        'Pending stakes a user may report per minute (REST; PosBus reports count against the session rate).',
      ),
    pendingStakeTtlMs: int(1000, 365 * 86400_000)
      .default(86400_000)
      .describe(
        "A pending stake the chain has not confirmed after this long leaves the world's list (clients told).",
      ),
    uploadsPerMinute: int(1, 100_000)
      .default(30)
      .describe('Asset uploads a user may make per minute (all upload routes together).'),
    guestUploadQuotaMb: z.coerce
      .number()
      .min(0)
      .max(2 ** 20)
      .default(20)
      .describe(
        "Bytes (MiB) that may be stored on a guest's behalf (node/assets/upload-quotas.ts says what counts); 0 = guests cannot upload.",
      ),
    userUploadQuotaMb: z.coerce
      .number()
      .min(0)
      .max(2 ** 20)
      .default(1024)
      .describe("Bytes (MiB) that may be stored on a signed-in user's behalf (node admins: no limit)."),
    maxChildrenPerObject: int(1, 1_000_000)
      .default(10_000)
      .describe(
        'Live children one object (a world included) may have; creates beyond it get 400 child_limit_reached.',
      ),
    maxBodyBytes: int(1024, 100 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('Largest JSON request body.'),
    httpHeadersTimeoutMs: int(100, 600_000)
      .default(15_000)
      .describe("A request's headers must be complete within this (else 408 and the connection is closed)."),
    httpIdleBodyTimeoutMs: int(100, 3_600_000)
      .default(30_000)
      .describe(
        'A request body (or a response the client reads) that moves no byte this long is cut; not a cap on long uploads.',
      ),
    maxConnectionsPerAddress: int(0, 1_000_000)
      .default(128)
      .describe(
        'Concurrent connections (HTTP and PosBus) per client address; 0 = no cap. Trusted proxies are exempt.',
      ),
    trustProxy: z.coerce
      .string()
      .default('')
      .superRefine((spec, ctx) => {
        try {
          parseTrustProxy(spec);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      })
      .describe(
        'Reverse proxies whose X-Forwarded-For is believed: empty = none; a hop count (`1`); or a comma-separated list of addresses/CIDRs (`127.0.0.1/32,10.0.0.0/8`).',
      ),
    cors: z
      .string()
      .default('')
      .describe('Allowed CORS origins, comma-separated; `*` for any; empty = CORS off (like the original).'),
    admins: z.string().default('').describe('Node admins: user ids or wallet addresses, comma-separated.'),
    worldCreation: z
      .enum(['admins', 'users'])
      .default('users')
      .describe('Who may create worlds besides node admins: `admins` or `users` (any signed-in non-guest).'),
    publicUrl: z
      .string()
      .default('')
      .describe("Operator's public URL of this node, shown to clients; empty = derived from the request."),
    chains: chainsSchema.describe(
      'Harvester: chain adapters (a JSON array; see harvester/config.ts). Empty = harvester off.',
    ),
    chainQuorum: int(1, 64)
      .default(2)
      .describe(
        'Chains with `"source": "peers"`: distinct trusted peers that must publish the same block (hash, link, events) before it is applied; 1 trusts a single peer.',
      ),
    assetMaxModelBytes: int(1024, 2 ** 40)
      .default(512 * 1024 * 1024)
      .describe(
        'Largest upload per asset kind, here models (bytes); more is refused with 413 and nothing is stored.',
      ),
    assetMaxTextureBytes: int(1024, 2 ** 40)
      .default(64 * 1024 * 1024)
      .describe('Largest texture upload (bytes).'),
    assetMaxSkyboxBytes: int(1024, 2 ** 40)
      .default(128 * 1024 * 1024)
      .describe('Largest skybox upload (bytes).'),
    assetMaxImageBytes: int(1024, 2 ** 40)
      .default(32 * 1024 * 1024)
      .describe('Largest image upload (bytes).'),
    assetGcGraceMs: int(0, 3650 * 86400_000)
      .default(7 * 86400_000)
      .describe('An asset no world references keeps its pin this long, then the next GC may remove it.'),
    pin: z
      .enum(['referenced', 'all-trusted', 'none'])
      .default('referenced')
      .describe(
        'Which assets this node fetches from peers and pins: `referenced` (every asset its worlds reference, mirrored ones included), `all-trusted` (also every asset it fetched on demand), `none`.',
      ),
    storageQuotaGb: z.coerce
      .number()
      .min(0)
      .max(1_000_000)
      .default(0)
      .describe(
        "Storage for assets (GB, fractions allowed); over it, nothing is pinned for other nodes' worlds. 0 = no quota.",
      ),
    assetFetchTimeoutMs: int(100, 600_000)
      .default(15_000)
      .describe(
        'How long a download of an asset this node lacks waits for peers (first bytes, then per block): 504 after.',
      ),
    assetFetchConcurrency: int(1, 64)
      .default(4)
      .describe('Referenced assets fetched from peers at a time, in the background.'),
    p2pPort: int(0, 65535).default(4001).describe('libp2p TCP port for federation (0 = any free port).'),
    p2pWsPort: int(0, 65535)
      .default(4002)
      .describe('libp2p WebSocket port, for browser peers later (0 = any free port).'),
    p2pHost: z.string().default('').describe('Address libp2p listens on; empty = the same as `host`.'),
    bootstrap: z
      .string()
      .default('')
      .superRefine((spec, ctx) => {
        try {
          parseBootstrap(spec);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      })
      .describe('Peers to dial and keep dialing (multiaddrs with /p2p/<peer id>), comma-separated.'),
    trust: z
      .string()
      .default('')
      .superRefine((spec, ctx) => {
        const ids = spec
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (ids.length === 1 && ids[0] === 'all') return;
        for (const id of ids) {
          try {
            peerIdFromString(id);
          } catch {
            ctx.addIssue({ code: 'custom', message: `not a peer id: ${id} (or use \`all\`)` });
          }
        }
      })
      .describe('Peers whose gossip is accepted: peer ids, comma-separated, or `all`. Empty = nobody.'),
    replicate: z
      .enum(['on-demand', 'all'])
      .default('on-demand')
      .describe(
        'Which worlds this node mirrors: `on-demand` (asked by an admin or a teleport) or `all` announced by trusted peers.',
      ),
    mirrors: z
      .string()
      .default('')
      .describe('World ids to mirror from the start, comma-separated (on top of `replicate`).'),
    federationSyncIntervalMs: int(200, 3_600_000)
      .default(30_000)
      .describe('How often a node compares each world it holds with the trusted peers that hold it.'),
    federationPullTimeoutMs: int(1000, 86_400_000)
      .default(600_000)
      .describe(
        'A world pull (world sync) still running after this long is cut; what it brought stays, and the next pull asks only for the rest.',
      ),
    announceIntervalMs: int(100, 3_600_000)
      .default(5_000)
      .describe('How often the node announces itself and its worlds on the directory topic.'),
    peerSilenceTimeoutMs: int(500, 3_600_000)
      .default(15_000)
      .describe('Remote members (and directory entries) of a node that went silent this long are dropped.'),
    peerGossipPerSecond: int(0, 1_000_000)
      .default(1000)
      .describe(
        'Gossip messages a trusted node may have taken per topic and second (five times that over all its topics; chain topics not limited), after a burst of ten seconds worth; past it they are ignored until its allowance refills (ops come again through world sync). 0 = no limit.',
      ),
    maxRemotePeople: int(0, 10_000_000)
      .default(50_000)
      .describe(
        'People of other nodes this node shows at once, over all worlds and nodes (one node: at most 20,000): joins and rosters that would take it past this are ignored. 0 = nobody of other nodes.',
      ),
    maxClockSkewMs: int(0, 86_400_000)
      .default(60_000)
      .describe(
        'Ops, lock claims, directory announcements and people messages stamped further than this in the future are refused.',
      ),
    region: z
      .string()
      .max(64)
      .regex(/^[\w.:-]*$/, 'letters, digits, `_`, `.`, `:` and `-` only')
      .default('')
      .describe(
        'Region label announced to the federation (e.g. `eu-central`), matched against --region-header.',
      ),
    geo: z
      .string()
      .default('')
      .refine((s) => s.trim() === '' || parseGeo(s) !== undefined, {
        message: 'expected LAT,LON in degrees (-90..90,-180..180), e.g. 52.52,13.40',
      })
      .describe('Where the node is, `LAT,LON` in degrees; announced for the nearest-node ranking.'),
    maxSessions: int(1, 1_000_000_000)
      .default(1000)
      .describe(
        'PosBus sessions the node is sized for: announced as capacity (free = this - sessions), not enforced.',
      ),
    geoHeader: headerName.describe(
      "Header a reverse proxy sets to the client's `LAT,LON` (e.g. from GeoIP); '' = not known.",
    ),
    regionHeader: headerName.describe(
      "Header a reverse proxy sets to the client's region label; '' = not known.",
    ),
  })
  .strict();

export type NodeConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const camel = (s: string) => s.toLowerCase().replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** ODYSSEY_TICK_MS=50 → { tickMs: '50' }. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('ODYSSEY_') && value !== undefined) out[camel(name.slice('ODYSSEY_'.length))] = value;
  }
  return out;
}

/** --tick-ms 50 / --tick-ms=50 → { tickMs: '50' }; `--config` is returned separately. */
export function configFromFlags(args: string[]): { flags: Record<string, string>; configFile?: string } {
  const flags: Record<string, string> = {};
  let configFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`flag --${name} needs a value`);
    if (name === 'config') configFile = value;
    else flags[camel(name)] = value;
  }
  return { flags, configFile };
}

/** Merges the sources and validates. Throws ConfigError naming the first bad key and its source. */
export function loadConfig(sources: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
}): NodeConfig {
  let fromFile: Record<string, unknown> = {};
  if (sources.file) {
    try {
      fromFile = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`config file ${sources.file}: ${(e as Error).message}`);
    }
  }
  const fromEnv = configFromEnv(sources.env ?? {});
  const fromFlags = sources.flags ?? {};
  const origin = (path: string) => {
    // A nested key (chains.0.rpcUrl) came from where its top-level key came from.
    const k = path.split('.')[0];
    return k in fromFlags
      ? `flag --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
      : k in fromEnv
        ? 'environment'
        : 'config file';
  };
  const result = configSchema.safeParse({ ...fromFile, ...fromEnv, ...fromFlags });
  if (!result.success) {
    const issue = result.error.issues[0];
    const k =
      issue.code === 'unrecognized_keys'
        ? issue.keys.join(', ')
        : issue.path.map(String).join('.') || '(root)';
    throw new ConfigError(`invalid config key ${k} (from ${origin(k)}): ${issue.message}`);
  }
  return result.data;
}
