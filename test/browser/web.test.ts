/**
 * The dashboard, the live viewer and the API docs in a real browser (Debian's chromium) against a real
 * node: what an operator sees, checked through the DOM the pages expose.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { connect } from '../../protocol/client/index.ts';
import { type Browser, ensureWebBuild, injectWallet, launchBrowser } from '../support/browser.ts';
import { call } from '../support/http.ts';
import { joinWorld, startNode, type TestClient, type TestNode } from '../support/node.ts';
import { ethSigner, newEthAccount, signInAs } from '../support/sign-in.ts';

/** UPDATE_SCREENSHOTS=1 rewrites docs/dashboard.png and docs/viewer.png (shown in the README). */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';

let node: TestNode;
let browser: Browser;
const admin = newEthAccount();
const clients: TestClient[] = [];

beforeAll(async () => {
  ensureWebBuild();
  node = await startNode({ name: 'Browser test node', admins: admin.address });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close()));
  await browser?.close();
  await node?.cleanup();
});

describe('dashboard', () => {
  it('shows the node and the seeded world with its online users, live', async () => {
    const page = await browser.page();
    await page.goto(`${node.url}/`);
    await expect.poll(() => page.textContent('#node-name')).toBe('Browser test node');
    const world = page.locator(`tr[data-world-id="${DEFAULT_WORLD_ID}"]`);
    await world.waitFor();
    expect(await world.locator('.name').textContent()).toBe('Odyssey Plaza');
    expect(await world.getAttribute('data-online')).toBe('0');

    // Two people enter: the count follows without a reload (the page polls every 3 s).
    await joinWorld(node, clients, DEFAULT_WORLD_ID);
    await joinWorld(node, clients, DEFAULT_WORLD_ID);
    await page
      .locator(`tr[data-world-id="${DEFAULT_WORLD_ID}"][data-online="2"]`)
      .waitFor({ timeout: 10_000 });
    expect(await page.textContent('[data-fact="sessions"] dd')).toBe('2');
    expect(await page.textContent('#harvester')).toContain('harvester is off');
    // No injected wallet in this browser: the operator panel stays signed out and says why.
    expect(await page.getAttribute('#operator', 'data-state')).toBe('signed-out');
    expect(await page.textContent('#operator')).toContain('No browser wallet found');
    if (SCREENSHOTS) await shoot(page, 'dashboard.png');
    await page.close();
    expect(browser.errors).toEqual([]);
  });
});

describe('operator panel', () => {
  it('signs a node admin in with a browser wallet and shows peers and GC; refuses another wallet', async () => {
    const page = await browser.page();
    await injectWallet(page, admin);
    await page.goto(`${node.url}/`);
    await page.getByRole('button', { name: 'Sign in with wallet' }).click();
    await page.locator('#operator[data-state="signed-in"]').waitFor();
    expect(await page.textContent('#operator')).toContain('No peers.');
    await page.getByRole('button', { name: 'Collect garbage' }).click();
    await expect.poll(() => page.textContent('#operator .note')).toMatch(/^removed \d+ assets, \d+ blocks$/);
    // The token survives a reload of the tab (sessionStorage), and signing out forgets it.
    await page.reload();
    await page.locator('#operator[data-state="signed-in"]').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#operator[data-state="signed-out"]').waitFor();
    await page.close();

    const stranger = await browser.page();
    await injectWallet(stranger, newEthAccount());
    await stranger.goto(`${node.url}/`);
    await stranger.getByRole('button', { name: 'Sign in with wallet' }).click();
    await expect
      .poll(() => stranger.textContent('#operator'))
      .toContain('This wallet is not an admin of this node.');
    expect(await stranger.getAttribute('#operator', 'data-state')).toBe('signed-out');
    await stranger.close();
    // The refused read of /federation/peers is a 403 the page handles; the browser logs it as a failed resource.
    expect(browser.errors.filter((e) => !e.includes('403'))).toEqual([]);
    browser.errors.length = 0;
  });
});

describe('live viewer', () => {
  it('draws users from the PosBus stream: a mover’s dot moves, a leaver’s dot goes', async () => {
    const page = await browser.page();
    await page.goto(`${node.url}/viewer?world=${DEFAULT_WORLD_ID}`);
    await page.locator('#status[data-state="open"]').waitFor();
    // The seeded objects are on the map.
    await expect.poll(() => page.getAttribute('#objects', 'data-count')).not.toBe('0');
    expect(
      await page.locator('#objects li[data-object-id="5e1f0d2c-7a41-4c39-9b1e-0d0000000101"]').count(),
    ).toBe(1);

    const walker = await joinWorld(node, clients, DEFAULT_WORLD_ID);
    const watcher = await joinWorld(node, clients, DEFAULT_WORLD_ID);
    const dot = page.locator(`#users li[data-user-id="${walker.user.id}"]`);
    await dot.waitFor();
    await page.locator(`#users li[data-user-id="${watcher.user.id}"]`).waitFor();
    const before = { x: await dot.getAttribute('data-x'), z: await dot.getAttribute('data-z') };

    watcher.client.send({
      type: 'MyTransform',
      position: { x: -3, y: 0, z: 6 },
      rotation: { x: 0, y: 0, z: 0 },
    });
    await page.locator(`#users li[data-user-id="${watcher.user.id}"][data-x="-3"][data-z="6"]`).waitFor();
    walker.client.send({
      type: 'MyTransform',
      position: { x: 7.5, y: 0, z: -3.25 },
      rotation: { x: 0, y: 0, z: 0 },
    });
    await page.locator(`#users li[data-user-id="${walker.user.id}"][data-x="7.5"][data-z="-3.25"]`).waitFor();
    expect(before).not.toEqual({ x: '7.5', z: '-3.25' });
    if (SCREENSHOTS) await shoot(page, 'viewer.png');

    await walker.client.close();
    await dot.waitFor({ state: 'detached' });
    await page.close();
    expect(browser.errors).toEqual([]);
  });

  it('follows objects: added over REST, dragged over PosBus, removed over REST', async () => {
    const account = newEthAccount();
    const { token, me } = await signInAs(node, account.address, ethSigner(account));
    const world = await call<{ id: string }>(node, 'POST', '/api/v4/worlds', {
      token,
      body: { name: 'Workshop' },
    });
    expect(world.status).toBe(201);
    const worldId = world.body.id;

    const page = await browser.page();
    await page.goto(`${node.url}/viewer?world=${worldId}`);
    await page.locator('#status[data-state="open"]').waitFor();
    await expect.poll(() => page.textContent('#world-name')).toBe('Workshop');

    const transform = (x: number) => ({
      position: { x, y: 1, z: 2 },
      rotation: { x: 0, y: 0, z: 0 },
      scale: { x: 1, y: 1, z: 1 },
    });
    const created = await call<{ object_id: string }>(node, 'POST', '/api/v4/objects', {
      token,
      body: {
        object_name: 'Crate',
        parent_id: worldId,
        object_type_id: '4ed3a5bb-53f8-4511-941b-07902982c31c',
        transform: transform(3),
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.object_id;
    await page.locator(`#objects li[data-object-id="${id}"][data-x="3"][data-z="2"]`).waitFor();

    // The owner drags it as a client would: lock, transform, unlock.
    const owner = await connect(node.wsUrl, { token, userId: me.id, reconnect: false });
    try {
      await owner.teleport(worldId);
      owner.send({ type: 'LockObject', id });
      expect((await owner.next('LockObjectResponse', { filter: (r) => r.id === id })).result).toBe(1);
      owner.send({ type: 'ObjectTransform', id, transform: transform(-4) });
      await page.locator(`#objects li[data-object-id="${id}"][data-x="-4"]`).waitFor();
      owner.send({ type: 'UnlockObject', id });
    } finally {
      await owner.close();
    }

    expect((await call(node, 'DELETE', `/api/v4/objects/${id}`, { token })).status).toBe(200);
    await page.locator(`#objects li[data-object-id="${id}"]`).waitFor({ state: 'detached' });
    expect(await page.getAttribute('#objects', 'data-count')).toBe('0');
    await page.close();
    expect(browser.errors).toEqual([]);
  });
});

describe('API docs', () => {
  it('renders every operation of the OpenAPI document', async () => {
    const spec = (await (await fetch(`${node.url}/api/v4/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(spec.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    const page = await browser.page();
    await page.goto(`${node.url}/api/docs`);
    await expect.poll(() => page.locator('#paths details').count()).toBe(operations);
    expect(operations).toBeGreaterThan(50);
    expect(await page.textContent('#paths')).toContain('/node/overview');
    await page.close();
    expect(browser.errors).toEqual([]);
  });
});

async function shoot(page: import('playwright-core').Page, file: string): Promise<void> {
  await mkdir(join(process.cwd(), 'docs'), { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(process.cwd(), 'docs', file) });
}
