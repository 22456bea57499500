/**
 * The picture of a world a member already in it gets again when it resumed a session after missing too
 * much to replay (node/posbus/extension.ts): the same frames as on entry — SetWorld, its own pose,
 * objects, render data, the users in its view — sent to that member only; the others see nothing.
 */
import { encode, NIL_UMID } from '../../protocol/posbus/index.ts';
import type { ObjectRecord } from '../../storage/db/records.ts';
import type { Room } from './room.ts';
import { objectDefinition, objectTree, renderData } from './wire.ts';
import type { WorldState } from './world-store.ts';

export function worldSnapshot(
  state: WorldState,
  room: Room,
  userId: string,
  nodeId: string,
  batchSize: number,
): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const root = state.objects.get(state.id) as ObjectRecord;
  frames.push(
    encode({
      type: 'SetWorld',
      id: state.id,
      name: root.name,
      avatar: NIL_UMID,
      owner: root.ownerId || NIL_UMID,
      avatar3dAssetId: NIL_UMID,
    }),
  );
  const pose = room.transformOf(userId);
  if (pose) frames.push(encode({ type: 'MyTransform', ...pose }));
  const tree = objectTree(state);
  for (let i = 0; i < tree.length; i += batchSize) {
    const chunk = tree.slice(i, i + batchSize);
    frames.push(encode({ type: 'AddObjects', objects: chunk.map((o) => objectDefinition(o, nodeId)) }));
  }
  const data = renderData(state);
  for (const object of tree) {
    const slots = data.get(object.id);
    if (slots) frames.push(encode(slots));
  }
  // The neighbourhood only, as on entry: others come into view through the room's tick.
  const everyone = room.inViewOf(userId);
  for (let i = 0; i < everyone.length; i += batchSize) {
    frames.push(encode({ type: 'AddUsers', users: everyone.slice(i, i + batchSize) }));
  }
  return frames;
}
