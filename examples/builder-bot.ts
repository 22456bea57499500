/**
 * A bot that builds: signs in with a fresh wallet, creates its own world over REST, stacks a small tower
 * of cubes there (POST /objects), then enters the world over PosBus and slides the top cube back and
 * forth (LockObject → ObjectTransform → UnlockObject), the way a person drags an object. Open
 * /viewer?world=<id> (printed below) to watch. Stops after --duration seconds (default 20).
 *
 *   npm run example:builder -- --url http://127.0.0.1:4000
 */
import { connect } from '../protocol/client/index.ts';
import type { Transform } from '../protocol/posbus/index.ts';
import { options, post, sleep, walletUser } from './common.ts';

/** Ids every node seeds (node/world/seed.ts): the "Custom" object type and the basic cube asset. */
const CUSTOM_OBJECT_TYPE = '4ed3a5bb-53f8-4511-941b-07902982c31c';
const CUBE_ASSET = '5b5bd872-0328-e38c-1b54-bf2bfa70fc85';

const { url, signal } = options(20);
const me = await walletUser(url);
const api = `${url}/api/v4`;

const world = await post<{ id: string; name: string }>(
  `${api}/worlds`,
  { name: `Tower of ${me.name}` },
  me.token,
);
console.log(`created world ${world.name}: ${url}/viewer?world=${world.id}`);

const at = (x: number, y: number, z: number): Transform => ({
  position: { x, y, z },
  rotation: { x: 0, y: 0, z: 0 },
  scale: { x: 2, y: 1, z: 2 },
});
const cubes: string[] = [];
for (let level = 0; level < 4; level++) {
  const { object_id } = await post<{ object_id: string }>(
    `${api}/objects`,
    {
      object_name: `level ${level + 1}`,
      parent_id: world.id,
      object_type_id: CUSTOM_OBJECT_TYPE,
      asset_3d_id: CUBE_ASSET,
      transform: at(level * 2.5, level, 0),
    },
    me.token,
  );
  cubes.push(object_id);
}
console.log(`built ${cubes.length} cubes`);

const client = await connect(`${url}/posbus`, { token: me.token, userId: me.id });
await client.teleport(world.id);
const top = cubes[cubes.length - 1];
client.send({ type: 'LockObject', id: top });
const lock = await client.next('LockObjectResponse', { filter: (r) => r.id === top });
if (lock.result !== 1) throw new Error(`could not lock the top cube (result ${lock.result})`);

for (let step = 0; !signal.aborted; step++) {
  client.send({ type: 'ObjectTransform', id: top, transform: at(7.5 + 3 * Math.sin(step / 5), 3, 0) });
  await sleep(200, signal);
}
client.send({ type: 'UnlockObject', id: top });
await client.close();
console.log('builder stopped');
