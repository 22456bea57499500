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
    /** Data directory: LevelDB, the node secret, later the blockstore. */
    data: z.string().min(1).default('./data'),
    host: z.string().min(1).default('127.0.0.1'),
    port: int(0, 65535).default(4000),
    name: z.string().min(1).max(100).default('Odyssey node'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Position tick of every world. */
    tickMs: int(10, 5000).default(100),
    /** Every user's position is re-sent at least this often, moved or not. */
    refreshMs: int(100, 600_000).default(5000),
    /** Users per UsersTransformList frame (46 bytes each at most: 512 stays under a 32 KiB client read limit). */
    positionBatch: int(1, 700).default(512),
    /** Interest management: grid cell side in world units; members see users in the 3×3 cells around them. 0 = everyone sees everyone. */
    interestCellSize: z.coerce.number().min(0).max(1e6).default(200),
    /** Access token lifetime. */
    tokenTtlSeconds: int(60, 30 * 86400).default(86400),
    /** Largest PosBus frame accepted after the handshake (the original: 1024). */
    maxFrameBytes: int(256, 1 << 20).default(4096),
    /** Largest HandShake frame (it carries the token). */
    maxHandshakeBytes: int(256, 1 << 20).default(16384),
    handshakeTimeoutMs: int(100, 600_000).default(10_000),
    /** Sustained inbound messages per second per session, and the burst above it. */
    messagesPerSecond: int(1, 100_000).default(60),
    messageBurst: int(1, 100_000).default(120),
    /** Malformed or unexpected frames tolerated per session before it is closed. */
    maxBadFrames: int(0, 100_000).default(20),
    /** Bytes queued on a socket above which position frames are dropped (latest wins). */
    positionBacklogBytes: int(1024, 1 << 30).default(256 * 1024),
    /** Bytes queued on a socket above which the session is closed as too slow. */
    maxQueuedBytes: int(64 * 1024, 1 << 30).default(8 * 1024 * 1024),
    pingIntervalMs: int(100, 600_000).default(30_000),
    /** How long a dropped session that negotiated resume keeps its avatar in the world; 0 = no resume. */
    resumeGraceMs: int(0, 600_000).default(10_000),
    /** Reliable frames a resumable session keeps for replay (bytes); a client that missed more gets a snapshot. */
    resumeReplayBytes: int(0, 64 * 1024 * 1024).default(256 * 1024),
    /** Position bytes per second per client (nearest first, fewer updates when over); 0 = no budget. */
    clientBudgetBytesPerSecond: int(0, 1 << 30).default(0),
    /** Guests are deleted this long after their last session ended (the original: 20 minutes). */
    guestTtlMs: int(0, 30 * 86400_000).default(20 * 60_000),
    /** Requests per minute per client address on the auth routes (challenge, token, guest token). */
    authRequestsPerMinute: int(1, 100_000).default(30),
    /** How long a wallet sign-in challenge stays valid. */
    challengeTtlMs: int(100, 3_600_000).default(5 * 60_000),
    /** Timeline posts a user may make per minute. */
    activityPostsPerMinute: int(1, 100_000).default(10),
    /** Objects a user may create per minute. */
    objectCreatesPerMinute: int(1, 100_000).default(60),
    /** Pending stakes a user may report per minute (REST; PosBus reports count against the session rate). */
    stakeReportsPerMinute: int(1, 100_000).default(10),
    /** A pending stake the chain has not confirmed after this long leaves the world's list (clients told). */
    pendingStakeTtlMs: int(1000, 365 * 86400_000).default(86400_000),
    /** Asset uploads a user may make per minute (all upload routes together). */
    uploadsPerMinute: int(1, 100_000).default(30),
    /**
     * Bytes (MiB) that may be stored on a guest's, a signed-in user's behalf (node admins: no limit); see
     * node/assets/upload-quotas.ts for what counts. Guests 0 = guests cannot upload.
     */
    guestUploadQuotaMb: z.coerce
      .number()
      .min(0)
      .max(2 ** 20)
      .default(20),
    userUploadQuotaMb: z.coerce
      .number()
      .min(0)
      .max(2 ** 20)
      .default(1024),
    /** Live children one object (a world included) may have; creates beyond it get 400 child_limit_reached. */
    maxChildrenPerObject: int(1, 1_000_000).default(10_000),
    /** Largest JSON request body. */
    maxBodyBytes: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
    /** A request's headers must be complete within this (else 408 and the connection is closed). */
    httpHeadersTimeoutMs: int(100, 600_000).default(15_000),
    /** A request body (or a response the client reads) that moves no byte this long is cut; not a cap on long uploads. */
    httpIdleBodyTimeoutMs: int(100, 3_600_000).default(30_000),
    /** Concurrent connections (HTTP and PosBus) per client address; 0 = no cap. Trusted proxies are exempt. */
    maxConnectionsPerAddress: int(0, 1_000_000).default(128),
    /**
     * Reverse proxies whose X-Forwarded-For is believed: empty = none; a hop count (`1`); or a
     * comma-separated list of addresses/CIDRs (`127.0.0.1/32,10.0.0.0/8`).
     */
    trustProxy: z.coerce
      .string()
      .default('')
      .superRefine((spec, ctx) => {
        try {
          parseTrustProxy(spec);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
    /** Allowed CORS origins, comma-separated; `*` for any; empty = CORS off (like the original). */
    cors: z.string().default(''),
    /** Node admins: user ids or wallet addresses, comma-separated. */
    admins: z.string().default(''),
    /** Who may create worlds besides node admins: `admins` or `users` (any signed-in non-guest). */
    worldCreation: z.enum(['admins', 'users']).default('users'),
    /** Operator's public URL of this node, shown to clients; empty = derived from the request. */
    publicUrl: z.string().default(''),
    /** Harvester: chain adapters (a JSON array; see harvester/config.ts). Empty = harvester off. */
    chains: chainsSchema,
    /**
     * Chains with `"source": "peers"`: distinct trusted peers that must publish the same block (hash,
     * link, events) before it is applied. 2 by default, so that no single peer, however trusted, decides
     * alone what the chain says; a federation with one node that reads the chain sets 1.
     */
    chainQuorum: int(1, 64).default(2),
    /** Largest upload per asset kind (bytes); more is refused with 413 and nothing is stored. */
    assetMaxModelBytes: int(1024, 2 ** 40).default(512 * 1024 * 1024),
    assetMaxTextureBytes: int(1024, 2 ** 40).default(64 * 1024 * 1024),
    assetMaxSkyboxBytes: int(1024, 2 ** 40).default(128 * 1024 * 1024),
    assetMaxImageBytes: int(1024, 2 ** 40).default(32 * 1024 * 1024),
    /** An asset no world references keeps its pin this long, then the next GC may remove it. */
    assetGcGraceMs: int(0, 3650 * 86400_000).default(7 * 86400_000),
    /**
     * Which assets this node fetches from peers and pins: `referenced` (every asset its worlds reference,
     * mirrored ones included), `all-trusted` (also every asset it fetched on demand), `none`.
     */
    pin: z.enum(['referenced', 'all-trusted', 'none']).default('referenced'),
    /** Storage for assets (GB, fractions allowed); over it, nothing is pinned for other nodes' worlds. 0 = no quota. */
    storageQuotaGb: z.coerce.number().min(0).max(1_000_000).default(0),
    /** How long a download of an asset this node lacks waits for peers (first bytes, then per block): 504 after. */
    assetFetchTimeoutMs: int(100, 600_000).default(15_000),
    /** Referenced assets fetched from peers at a time, in the background. */
    assetFetchConcurrency: int(1, 64).default(4),
    /** libp2p TCP port for federation (0 = any free port). */
    p2pPort: int(0, 65535).default(4001),
    /** libp2p WebSocket port, for browser peers later (0 = any free port). */
    p2pWsPort: int(0, 65535).default(4002),
    /** Address libp2p listens on; empty = the same as `host`. */
    p2pHost: z.string().default(''),
    /** Peers to dial and keep dialing (multiaddrs with /p2p/<peer id>), comma-separated. */
    bootstrap: z
      .string()
      .default('')
      .superRefine((spec, ctx) => {
        try {
          parseBootstrap(spec);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
    /** Peers whose gossip is accepted: peer ids, comma-separated, or `all`. Empty = nobody. */
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
      }),
    /** Which worlds this node mirrors: `on-demand` (asked by an admin or a teleport) or `all` announced by trusted peers. */
    replicate: z.enum(['on-demand', 'all']).default('on-demand'),
    /** World ids to mirror from the start, comma-separated (on top of `replicate`). */
    mirrors: z.string().default(''),
    /** How often a node compares each world it holds with the trusted peers that hold it. */
    federationSyncIntervalMs: int(200, 3_600_000).default(30_000),
    /** How often the node announces itself and its worlds on the directory topic. */
    announceIntervalMs: int(100, 3_600_000).default(5_000),
    /** Remote members (and directory entries) of a node that went silent this long are dropped. */
    peerSilenceTimeoutMs: int(500, 3_600_000).default(15_000),
    /** Ops stamped further than this in the future are refused. */
    maxClockSkewMs: int(0, 86_400_000).default(60_000),
    /** Region label announced to the federation (e.g. `eu-central`), matched against --region-header. */
    region: z
      .string()
      .max(64)
      .regex(/^[\w.:-]*$/, 'letters, digits, `_`, `.`, `:` and `-` only')
      .default(''),
    /** Where the node is, `LAT,LON` in degrees; announced for the nearest-node ranking. */
    geo: z
      .string()
      .default('')
      .refine((s) => s.trim() === '' || parseGeo(s) !== undefined, {
        message: 'expected LAT,LON in degrees (-90..90,-180..180), e.g. 52.52,13.40',
      }),
    /** PosBus sessions the node is sized for: announced as capacity (free = this - sessions), not enforced. */
    maxSessions: int(1, 1_000_000_000).default(1000),
    /** Header a reverse proxy sets to the client's `LAT,LON` (e.g. from GeoIP); '' = not known. */
    geoHeader: headerName,
    /** Header a reverse proxy sets to the client's region label; '' = not known. */
    regionHeader: headerName,
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
