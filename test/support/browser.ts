/**
 * Debian's chromium driven by playwright-core: headless, no network of its own (no updates, sync or
 * QUIC), a fresh profile per launch, and every console error and page error recorded for the test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { PrivateKeyAccount } from 'viem/accounts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  /** Console errors and uncaught page errors of every page opened, as text. */
  errors: string[];
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no chromium at ${CHROMIUM}: install it with 'apt-get install -y chromium' (.ci/run does)`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'odyssey-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  };
  context.on('page', watch);
  for (const page of context.pages()) watch(page);
  return {
    context,
    errors,
    page: () => context.newPage(),
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Builds the dashboard (web/dist) when it is missing or older than its sources, as `npm install` would. */
export function ensureWebBuild(): void {
  const root = process.cwd();
  const built = join(root, 'web/dist/index.html');
  if (existsSync(built)) {
    const builtAt = statSync(built).mtimeMs;
    const sources = ['web', 'protocol/client', 'protocol/posbus'].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && !e.parentPath.includes(`${join('web', 'dist')}`))
        .map((e) => join(e.parentPath, e.name)),
    );
    if (sources.every((file) => statSync(file).mtimeMs <= builtAt)) return;
  }
  const result = spawnSync(
    join(root, 'node_modules/.bin/vite'),
    ['build', '--config', 'web/vite.config.ts'],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`vite build failed: ${result.stderr}${result.stdout}`);
}

/**
 * A stand-in for a wallet extension (none runs headless): `window.ethereum` with the two EIP-1193 calls
 * the dashboard makes, signing with a real key in the test process. The node's side is the real one.
 */
export async function injectWallet(page: Page, account: PrivateKeyAccount): Promise<void> {
  await page.exposeFunction('__testWalletSign', (hex: `0x${string}`) =>
    account.signMessage({ message: { raw: hex } }),
  );
  await page.addInitScript((address: string) => {
    const sign = (globalThis as unknown as { __testWalletSign(hex: string): Promise<string> })
      .__testWalletSign;
    (globalThis as unknown as { ethereum: unknown }).ethereum = {
      request: async ({ method, params }: { method: string; params?: unknown[] }) => {
        if (method === 'eth_requestAccounts') return [address];
        if (method === 'personal_sign') return sign(String(params?.[0]));
        throw new Error(`unsupported ${method}`);
      },
    };
  }, account.address);
}
