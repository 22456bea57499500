import { describe, expect, it } from 'vitest';
import { configKeys, envName, flagName, helpText } from '../../composition/cli-help.ts';
import { ConfigError, configFromEnv, configFromFlags, configSchema, loadConfig } from '../../node/config.ts';
import { resolveLogFormat } from '../../node/log.ts';

describe('config', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ data: './data', port: 4000, tickMs: 100, host: '127.0.0.1' });
  });

  it('lets flags win over the environment', () => {
    const env = configFromEnv({ ODYSSEY_TICK_MS: '50', ODYSSEY_PORT: '5000', HOME: '/root' });
    const { flags } = configFromFlags(['--port', '6000', '--name=Test node']);
    const config = loadConfig({ env: { ODYSSEY_TICK_MS: '50', ODYSSEY_PORT: '5000' }, flags });
    expect(env).toEqual({ tickMs: '50', port: '5000' });
    expect(config.port).toBe(6000);
    expect(config.tickMs).toBe(50);
    expect(config.name).toBe('Test node');
  });

  it('names the bad key and where it came from', () => {
    expect(() => loadConfig({ flags: { tickMs: '0' } })).toThrow(/tickMs \(from flag --tick-ms\)/);
    expect(() => loadConfig({ env: { ODYSSEY_PORT: 'many' } })).toThrow(/port \(from environment\)/);
    expect(() => loadConfig({ flags: { pendingStakeTtlMs: '10' } })).toThrow(
      /pendingStakeTtlMs \(from flag --pending-stake-ttl-ms\)/,
    );
    expect(loadConfig({ env: { ODYSSEY_PENDING_STAKE_TTL_MS: '60000' } }).pendingStakeTtlMs).toBe(60_000);
    expect(loadConfig({}).pendingStakeTtlMs).toBe(86_400_000);
    expect(() => loadConfig({ flags: { colour: 'blue' } })).toThrow(ConfigError);
    expect(() => loadConfig({ flags: { colour: 'blue' } })).toThrow(/colour/);
    expect(() => configFromFlags(['--port'])).toThrow(/--port needs a value/);
    // Federation: peer ids and bootstrap addresses are checked at start, not when first dialled.
    expect(() => loadConfig({ flags: { trust: 'all,bogus' } })).toThrow(
      /trust \(from flag --trust\): not a peer id: all/,
    );
    expect(() => loadConfig({ env: { ODYSSEY_TRUST: 'bogus' } })).toThrow(
      /trust \(from environment\): not a peer id: bogus/,
    );
    expect(() => loadConfig({ flags: { bootstrap: '/ip4/127.0.0.1/tcp/4001' } })).toThrow(
      /bootstrap \(from flag --bootstrap\): .* does not end in \/p2p\/<peer id>/,
    );
    expect(() => loadConfig({ flags: { bootstrap: 'localhost:4001' } })).toThrow(
      /bootstrap .*not a multiaddr/,
    );
    const peer = '12D3KooWQYiDhkRWYcokyNJUmsafNCt87qjDFBtMsaMaDt6SNTZj';
    expect(
      loadConfig({ flags: { trust: peer, bootstrap: `/ip4/127.0.0.1/tcp/4001/p2p/${peer}` } }).trust,
    ).toBe(peer);
  });

  it('validates the PosBus extension keys: resume grace, replay bytes, client budget', () => {
    const d = loadConfig({});
    expect([d.resumeGraceMs, d.resumeReplayBytes, d.clientBudgetBytesPerSecond]).toEqual([
      10_000, 262_144, 0,
    ]);
    expect(loadConfig({ env: { ODYSSEY_RESUME_GRACE_MS: '0' } }).resumeGraceMs).toBe(0);
    expect(loadConfig({ flags: { clientBudgetBytesPerSecond: '20000' } }).clientBudgetBytesPerSecond).toBe(
      20_000,
    );
    expect(() => loadConfig({ flags: { resumeGraceMs: '-1' } })).toThrow(
      /resumeGraceMs \(from flag --resume-grace-ms\)/,
    );
    expect(() => loadConfig({ flags: { resumeGraceMs: '600001' } })).toThrow(/resumeGraceMs/);
    expect(() => loadConfig({ flags: { resumeReplayBytes: 'lots' } })).toThrow(/resumeReplayBytes/);
    expect(() => loadConfig({ env: { ODYSSEY_CLIENT_BUDGET_BYTES_PER_SECOND: '1.5' } })).toThrow(
      /clientBudgetBytesPerSecond \(from environment\)/,
    );
  });

  it('checks the nearest-node keys: geo as LAT,LON in range, header names, region labels', () => {
    const config = loadConfig({
      flags: { geo: ' 52.52, 13.40 ', geoHeader: 'X-Client-Geo', region: 'eu-central', maxSessions: '50' },
    });
    expect(config).toMatchObject({ geo: ' 52.52, 13.40 ', geoHeader: 'x-client-geo', maxSessions: 50 });
    expect(loadConfig({}).maxSessions).toBeGreaterThan(0);
    expect(() => loadConfig({ flags: { geo: '91,0' } })).toThrow(/geo \(from flag --geo\): expected LAT,LON/);
    expect(() => loadConfig({ flags: { geo: '52.5' } })).toThrow(/invalid config key geo/);
    expect(() => loadConfig({ env: { ODYSSEY_GEO: '1,2,3' } })).toThrow(/geo \(from environment\)/);
    expect(() => loadConfig({ flags: { geoHeader: 'x geo' } })).toThrow(
      /geoHeader \(from flag --geo-header\)/,
    );
    expect(() => loadConfig({ flags: { region: 'eu central' } })).toThrow(/region/);
    expect(() => loadConfig({ flags: { maxSessions: '0' } })).toThrow(/maxSessions/);
  });

  it('describes every key, and the help lists each with the flag and variable the loaders read', () => {
    const help = helpText('start');
    const defaults = loadConfig({}) as Record<string, unknown>;
    for (const key of configKeys()) {
      const description = configSchema.shape[key].description;
      expect(description, key).toMatch(/\S{3}/);
      expect(help, key).toContain(`--${flagName(key)} `);
      expect(help, key).toContain(envName(key));
      expect(help, key).toContain(description);
      // The names in the help are the ones the loaders map back to the key.
      expect(Object.keys(configFromFlags([`--${flagName(key)}`, 'v']).flags), key).toEqual([key]);
      expect(Object.keys(configFromEnv({ [envName(key)]: 'v' })), key).toEqual([key]);
      expect(key in defaults, key).toBe(true);
    }
    expect(help).toMatch(/--port N\n\s+env ODYSSEY_PORT, default 4000\n/);
    expect(help).toMatch(/--cors TEXT\n\s+env ODYSSEY_CORS, default \(empty\)\n/);
  });

  it('checks the operator keys: log format, metrics, metrics token, git commit', () => {
    expect(loadConfig({})).toMatchObject({
      logFormat: 'auto',
      metrics: 'off',
      metricsToken: '',
      gitCommit: '',
    });
    expect(() => loadConfig({ flags: { logFormat: 'xml' } })).toThrow(/logFormat \(from flag --log-format\)/);
    expect(() => loadConfig({ flags: { metrics: 'yes' } })).toThrow(/metrics \(from flag --metrics\)/);
    expect(() => loadConfig({ env: { ODYSSEY_METRICS_TOKEN: 'short' } })).toThrow(
      /metricsToken \(from environment\): expected at least 16 characters/,
    );
    expect(() => loadConfig({ flags: { gitCommit: 'not-hex' } })).toThrow(/gitCommit/);
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});
