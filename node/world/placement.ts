/**
 * Where a new object appears when its creator gives no transform: in front of the creator when they are
 * in that world, else in front of the parent (the spawn point for a world); a clone goes beside the
 * original. Positions outside the world's bounds fall back to the anchor itself.
 */
import type { ObjectRecord, TransformRecord, Vec3Record } from '../../storage/db/records.ts';
import type { WorldController } from './world-controller.ts';
import type { WorldState } from './world-store.ts';

export type PlacementWorlds = Pick<WorldController, 'roomOf' | 'spawnPoint' | 'withinBounds'>;

/** How far ahead of the creator (or the parent) an object appears. */
const SPAWN_DISTANCE = 3;
const ZERO = { x: 0, y: 0, z: 0 };

export function spawnTransform(
  worlds: PlacementWorlds,
  creatorId: string,
  state: WorldState,
  parent: ObjectRecord,
): TransformRecord {
  const room = worlds.roomOf(creatorId);
  const pose = room?.worldId === state.id ? room.transformOf(creatorId) : undefined;
  const anchor =
    pose ??
    (parent.id === state.id
      ? worlds.spawnPoint(state)
      : { position: parent.transform.position, rotation: ZERO });
  const ahead = inFrontOf(anchor, SPAWN_DISTANCE);
  if (worlds.withinBounds(state.id, ahead.position)) return ahead;
  return { ...ahead, position: { ...anchor.position } };
}

/** A clone's place: one object width along x, or the other side when that leaves the world. */
export function besides(worlds: PlacementWorlds, worldId: string, t: TransformRecord): TransformRecord {
  const step = Math.max(1, Math.abs(t.scale.x));
  const right = { ...t.position, x: t.position.x + step };
  const position = worlds.withinBounds(worldId, right) ? right : { ...t.position, x: t.position.x - step };
  return { position, rotation: { ...t.rotation }, scale: { ...t.scale } };
}

/** A transform `distance` units ahead of a pose (yaw in degrees, Unity axes: yaw 0 looks along +z). */
export function inFrontOf(
  pose: { position: Vec3Record; rotation: Vec3Record },
  distance: number,
): TransformRecord {
  const yaw = (pose.rotation.y * Math.PI) / 180;
  return {
    position: {
      x: pose.position.x + distance * Math.sin(yaw),
      y: pose.position.y,
      z: pose.position.z + distance * Math.cos(yaw),
    },
    rotation: { ...ZERO },
    scale: { x: 1, y: 1, z: 1 },
  };
}
