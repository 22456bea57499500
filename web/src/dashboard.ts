/**
 * The dashboard: public facts from /api/v4/node/overview every few seconds; the operator panel (peers,
 * gossip traffic, GC) once a node admin signed in with an injected wallet.
 */
import type { Overview } from '../../node/overview/overview-body.ts';
import { bytes, duration, el, orDash } from './format.ts';
import { type ApiError, getJson, postJson } from './http.ts';
import { forgetToken, injectedWallet, savedToken, signIn } from './wallet.ts';

interface Peer {
  peerId: string;
  name: string | null;
  trusted: boolean;
  connected: boolean;
  latencyMs: number | null;
  received: number;
  rejected: number;
  worlds: string[];
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const REFRESH_MS = 3000;

function facts(target: HTMLElement, rows: [string, string, string][]): void {
  target.replaceChildren(
    ...rows.map(([key, label, value]) =>
      el('div', { class: 'fact', 'data-fact': key }, el('dt', {}, label), el('dd', {}, value)),
    ),
  );
}

function table(headers: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'empty' }, empty);
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows),
  );
}

function render(o: Overview): void {
  document.title = `${o.node.name} · odyssey-node`;
  $('node-name').textContent = o.node.name;
  facts($('node'), [
    ['version', 'Version', o.node.version],
    ['uptime', 'Uptime', duration(o.node.uptimeSeconds)],
    ['sessions', 'PosBus sessions', String(o.node.sessions)],
    ['peers', 'Peers connected', String(o.node.peers)],
    ['cpu', 'CPU', `${o.node.cpuPercent}%`],
    ['rss', 'Memory (RSS)', bytes(o.node.rssBytes)],
    ['data', 'Data dir', bytes(o.node.dataDirBytes)],
    ['peer-id', 'Peer id', o.node.peerId],
  ]);

  $('worlds').replaceChildren(
    table(
      ['World', 'Online', 'Here', 'Nodes', ''],
      o.worlds.map((w) =>
        el(
          'tr',
          { 'data-world-id': w.id, 'data-online': String(w.online), 'data-hosted': String(w.hosted) },
          el('td', { class: 'name' }, w.name || w.id),
          el('td', { class: 'online' }, String(w.online)),
          el('td', {}, w.hosted ? 'hosted' : 'known'),
          el('td', {}, String(w.nodes)),
          el(
            'td',
            {},
            w.hosted ? el('a', { href: `/viewer?world=${encodeURIComponent(w.id)}` }, 'view live →') : '',
          ),
        ),
      ),
      'No worlds yet.',
    ),
  );

  const a = o.assets;
  facts($('assets-facts'), [
    ['asset-count', 'Assets', String(a.count)],
    ['asset-bytes', 'Stored', bytes(a.bytes)],
    ['asset-pinned', 'Pinned', String(a.pinned)],
    ['asset-unpinned', 'Unpinned', String(a.unpinned)],
  ]);
  $('assets-recent').replaceChildren(
    ...a.recent.map((r) =>
      el(
        'figure',
        { 'data-cid': r.cid },
        r.kind === 'image' || r.kind === 'texture' || r.kind === 'skybox'
          ? el('img', { src: `/api/v4/media/render/texture/s3/${r.cid}`, alt: r.name, loading: 'lazy' })
          : el('div', { class: 'thumb' }, r.kind),
        el('figcaption', {}, `${r.name} · ${bytes(r.size)}${r.pinned ? '' : ' · unpinned'}`),
      ),
    ),
  );

  const h = o.harvester;
  $('harvester').replaceChildren(
    h.enabled
      ? table(
          ['Chain', 'Health', 'Head', 'Processed', 'Lag', 'Events', 'Reorgs', 'Last error'],
          h.chains.map((c) =>
            el(
              'tr',
              { 'data-chain': c.name },
              el('td', {}, `${c.name} (${c.family})`),
              el('td', { class: `health-${c.health}` }, c.health),
              el('td', {}, orDash(c.head)),
              el('td', {}, orDash(c.processed)),
              el('td', {}, orDash(c.lag)),
              el('td', {}, String(c.events)),
              el('td', {}, String(c.reorgs)),
              el('td', { class: 'error' }, orDash(c.lastError)),
            ),
          ),
          'No chains.',
        )
      : el('p', { class: 'empty' }, 'The harvester is off: no chain is configured (--chains).'),
  );
}

async function refresh(): Promise<void> {
  try {
    render(await getJson<Overview>('/api/v4/node/overview'));
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    $('updated').dataset.state = 'ok';
  } catch (error) {
    $('updated').textContent = `cannot reach the node: ${(error as Error).message}`;
    $('updated').dataset.state = 'error';
  }
}

// Operator panel.
const operator = $('operator');

function signedOut(message = ''): void {
  operator.dataset.state = 'signed-out';
  const wallet = injectedWallet();
  const button = el('button', { type: 'button' }, 'Sign in with wallet');
  button.addEventListener('click', async () => {
    try {
      if (!wallet) return;
      await signIn(wallet);
      await showOperator();
    } catch (error) {
      signedOut(`sign-in failed: ${(error as Error).message}`);
    }
  });
  operator.replaceChildren(
    el('p', {}, 'Peers, gossip traffic and garbage collection are for the node’s admins (--admins).'),
    wallet
      ? button
      : el('p', { class: 'empty' }, 'No browser wallet found: install one to sign in as an admin.'),
    ...(message ? [el('p', { class: 'error' }, message)] : []),
  );
}

async function showOperator(): Promise<void> {
  const token = savedToken();
  if (!token) return signedOut();
  let peers: Peer[];
  try {
    peers = await getJson<Peer[]>('/api/v4/federation/peers', token);
  } catch (error) {
    forgetToken();
    const e = error as ApiError;
    return signedOut(
      e.status === 403 ? 'This wallet is not an admin of this node.' : `Signed out: ${e.message}`,
    );
  }
  operator.dataset.state = 'signed-in';
  const gc = el('button', { type: 'button' }, 'Collect garbage');
  const gcResult = el('span', { class: 'note' });
  gc.addEventListener('click', async () => {
    gcResult.textContent = 'collecting…';
    try {
      const r = await postJson<{ removed_assets: string[]; removed_blocks: number }>(
        '/api/v4/assets/gc',
        {},
        token,
      );
      gcResult.textContent = `removed ${r.removed_assets.length} assets, ${r.removed_blocks} blocks`;
    } catch (error) {
      gcResult.textContent = (error as Error).message;
    }
  });
  const signOut = el('button', { type: 'button', class: 'secondary' }, 'Sign out');
  signOut.addEventListener('click', () => {
    forgetToken();
    signedOut();
  });
  operator.replaceChildren(
    el('h3', {}, 'Peers'),
    table(
      ['Peer', 'Trusted', 'Connected', 'Latency', 'Gossip in', 'Rejected', 'Worlds'],
      peers.map((p) =>
        el(
          'tr',
          { 'data-peer-id': p.peerId },
          el('td', { title: p.peerId }, p.name ?? `${p.peerId.slice(0, 16)}…`),
          el('td', {}, p.trusted ? 'yes' : 'no'),
          el('td', {}, p.connected ? 'yes' : 'no'),
          el('td', {}, p.latencyMs === null ? '—' : `${p.latencyMs} ms`),
          el('td', {}, String(p.received)),
          el('td', {}, String(p.rejected)),
          el('td', {}, String(p.worlds.length)),
        ),
      ),
      'No peers.',
    ),
    el('div', { class: 'actions' }, gc, gcResult, signOut),
  );
}

void refresh();
setInterval(() => void refresh(), REFRESH_MS);
void showOperator();
