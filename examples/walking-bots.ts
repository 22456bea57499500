/**
 * Two bots walk circles in the node's default world and high-five each other now and then; each prints
 * what it sees of the other. Stops after --duration seconds (default 30).
 *
 *   npm run example:bots -- --url http://127.0.0.1:4000 --duration 20
 */
import { connect, type PosbusClient } from '../protocol/client/index.ts';
import { guest, options, sleep } from './common.ts';

/** The world every node seeds (node/world/seed.ts). */
const DEFAULT_WORLD_ID = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
const STEP_MS = 100;

const { url, signal } = options(30);

async function bot(
  label: string,
  centre: { x: number; z: number },
): Promise<{ client: PosbusClient; id: string }> {
  const me = await guest(url);
  const client = await connect(`${url}/posbus`, { token: me.token, userId: me.id });
  const world = await client.teleport(DEFAULT_WORLD_ID);
  console.log(`${label} (${me.name}) entered ${world.name}`);
  client.on('HighFive', (h) => console.log(`${label} got a high five: "${h.message}"`));
  client.on('close', (e) => e.willReconnect && console.log(`${label} lost its connection; reconnecting`));
  void walk(client, centre);
  return { client, id: me.id };
}

/** A circle of 4 m around `centre`, one step every 100 ms, until the example stops. */
async function walk(client: PosbusClient, centre: { x: number; z: number }): Promise<void> {
  for (let t = 0; !signal.aborted; t++) {
    const angle = t / 20;
    client.send({
      type: 'MyTransform',
      position: { x: centre.x + 4 * Math.cos(angle), y: 0, z: centre.z + 4 * Math.sin(angle) },
      rotation: { x: 0, y: angle, z: 0 },
    });
    await sleep(STEP_MS, signal);
  }
}

const alice = await bot('alice', { x: -5, z: 10 });
const bob = await bot('bob', { x: 5, z: 10 });

// Positions of everyone nearby come in batches (UsersTransformList), several per second.
let seen = 0;
alice.client.on('UsersTransformList', (list) => {
  const other = list.value.find((u) => u.id === bob.id);
  if (other && seen++ % 20 === 0) {
    const p = other.transform.position;
    console.log(`alice sees bob at (${p.x.toFixed(1)}, ${p.z.toFixed(1)})`);
  }
});

while (!signal.aborted) {
  await sleep(3000, signal);
  if (signal.aborted) break;
  alice.client.send({ type: 'HighFive', senderId: alice.id, receiverId: bob.id, message: 'hi bob' });
  bob.client.send({ type: 'HighFive', senderId: bob.id, receiverId: alice.id, message: 'hi alice' });
}
await Promise.all([alice.client.close(), bob.client.close()]);
console.log('bots stopped');
