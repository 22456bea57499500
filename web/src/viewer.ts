/**
 * The live world viewer: enters a world as a guest with the project's PosBus SDK and draws it from
 * above (x to the right, z downwards). Objects are squares, users dots with names. The state is also
 * mirrored into the DOM (#users, #objects, data attributes) for tests and screen readers.
 */
import { connect, type PosbusClient } from '../../protocol/client/index.ts';
import { getJson, postJson } from './http.ts';
import { size, WorldModel } from './world-model.ts';

const model = new WorldModel();
const canvas = document.getElementById('map') as HTMLCanvasElement;
const status = document.getElementById('status') as HTMLElement;
const title = document.getElementById('world-name') as HTMLElement;
const usersList = document.getElementById('users') as HTMLUListElement;
const objectsList = document.getElementById('objects') as HTMLUListElement;
let selfId = '';

function setStatus(state: string, text: string): void {
  status.dataset.state = state;
  status.textContent = text;
}

async function chooseWorld(): Promise<string> {
  const asked = new URLSearchParams(location.search).get('world');
  if (asked) return asked;
  // No world named: the first this node hosts (the seeded one on a fresh node).
  const overview = await getJson<{ worlds: { id: string; hosted: boolean }[] }>('/api/v4/node/overview');
  const hosted = overview.worlds.find((w) => w.hosted);
  if (!hosted) throw new Error('this node hosts no world');
  return hosted.id;
}

async function start(): Promise<void> {
  setStatus('connecting', 'connecting…');
  const worldId = await chooseWorld();
  const guest = await postJson<{ id: string; token: string; name: string }>('/api/v4/auth/guest-token', {});
  selfId = guest.id;
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/posbus`;
  const client: PosbusClient = await connect(wsUrl, { token: guest.token, userId: guest.id });
  client.on('message', (m) => {
    if (model.apply(m)) render();
  });
  client.on('close', (e) =>
    setStatus(
      e.willReconnect ? 'reconnecting' : 'closed',
      e.willReconnect ? 'reconnecting…' : `closed (${e.code})`,
    ),
  );
  client.on('open', () => setStatus('open', 'live'));
  client.on('error', (e) => console.warn('posbus:', e.message));
  await client.teleport(worldId);
  setStatus('open', 'live');
  window.addEventListener('pagehide', () => void client.close());
}

/** Draws on the next animation frame, at most once per frame however many messages came. */
let pending = false;
function render(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    draw();
    mirror();
  });
}

function draw(): void {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext('2d');
  if (!g) return;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.fillStyle = '#0f1720';
  g.fillRect(0, 0, width, height);

  const e = model.extent();
  const margin = 60;
  const span = Math.max(e.maxX - e.minX, e.maxZ - e.minZ, 10);
  const scale = Math.min(width - 2 * margin, height - 2 * margin) / span;
  const cx = (e.minX + e.maxX) / 2;
  const cz = (e.minZ + e.maxZ) / 2;
  const sx = (x: number) => width / 2 + (x - cx) * scale;
  const sz = (z: number) => height / 2 + (z - cz) * scale;

  grid(g, { width, height, scale, cx, cz });

  g.font = '12px system-ui, sans-serif';
  for (const o of model.objects.values()) {
    if (o.id === model.worldId) continue;
    const s = Math.max(6, size(o) * scale);
    const color = model.colors.get(o.id) ?? '#60a5fa';
    g.fillStyle = `${color}99`;
    g.strokeStyle = color;
    g.fillRect(sx(o.position.x) - s / 2, sz(o.position.z) - s / 2, s, s);
    g.strokeRect(sx(o.position.x) - s / 2, sz(o.position.z) - s / 2, s, s);
    g.fillStyle = '#93c5fd';
    g.fillText(o.name, sx(o.position.x) - s / 2, sz(o.position.z) - s / 2 - 4);
  }
  // Users on one spot (everyone arrives at the spawn point) get their names stacked, not overprinted.
  const drawn: { x: number; y: number }[] = [];
  for (const u of model.users.values()) {
    const x = sx(u.position.x);
    const y = sz(u.position.z);
    const below = drawn.filter((d) => Math.abs(d.x - x) < 8 && Math.abs(d.y - y) < 8).length;
    drawn.push({ x, y });
    if (below === 0) {
      g.beginPath();
      g.arc(x, y, 6, 0, Math.PI * 2);
      g.fillStyle = u.id === selfId ? '#a3a3a3' : '#fbbf24';
      g.fill();
    }
    g.fillStyle = u.id === selfId ? '#a3a3a3' : '#f5f5f5';
    g.fillText(u.id === selfId ? `${u.name} (this viewer)` : u.name, x + 9, y + 4 - below * 14);
  }
}

/** Faint lines every 1, 10 or 100 m, whichever gives at least 40 px between lines. */
function grid(
  g: CanvasRenderingContext2D,
  view: { width: number; height: number; scale: number; cx: number; cz: number },
): void {
  const { width, height, scale, cx, cz } = view;
  let step = 1;
  while (step * scale < 40) step *= 10;
  g.strokeStyle = 'rgba(255,255,255,0.07)';
  g.lineWidth = 1;
  const halfX = width / 2 / scale;
  const halfZ = height / 2 / scale;
  g.beginPath();
  for (let x = Math.ceil((cx - halfX) / step) * step; x <= cx + halfX; x += step) {
    const px = Math.round(width / 2 + (x - cx) * scale) + 0.5;
    g.moveTo(px, 0);
    g.lineTo(px, height);
  }
  for (let z = Math.ceil((cz - halfZ) / step) * step; z <= cz + halfZ; z += step) {
    const pz = Math.round(height / 2 + (z - cz) * scale) + 0.5;
    g.moveTo(0, pz);
    g.lineTo(width, pz);
  }
  g.stroke();
}

/** The state as DOM: one <li> per user and object, positions rounded to centimetres. */
function mirror(): void {
  title.textContent = model.worldName || model.worldId;
  title.dataset.worldId = model.worldId;
  const round = (n: number) => String(Math.round(n * 100) / 100);
  const users = [...model.users.values()].sort((a, b) => a.name.localeCompare(b.name));
  usersList.replaceChildren(
    ...users.map((u) => {
      const li = document.createElement('li');
      li.dataset.userId = u.id;
      li.dataset.x = round(u.position.x);
      li.dataset.y = round(u.position.y);
      li.dataset.z = round(u.position.z);
      li.textContent = `${u.name}${u.id === selfId ? ' (this viewer)' : ''} — ${round(u.position.x)}, ${round(u.position.z)}`;
      return li;
    }),
  );
  usersList.dataset.count = String(users.length);
  const objects = [...model.objects.values()].filter((o) => o.id !== model.worldId);
  objectsList.replaceChildren(
    ...objects.map((o) => {
      const li = document.createElement('li');
      li.dataset.objectId = o.id;
      li.dataset.x = round(o.position.x);
      li.dataset.z = round(o.position.z);
      const color = model.colors.get(o.id);
      if (color) li.dataset.color = color;
      li.textContent = `${o.name || o.id.slice(0, 8)} — ${round(o.position.x)}, ${round(o.position.z)}`;
      return li;
    }),
  );
  objectsList.dataset.count = String(objects.length);
}

window.addEventListener('resize', render);
start().catch((error: Error) => {
  setStatus('error', `cannot show the world: ${error.message}`);
});
