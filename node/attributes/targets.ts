/**
 * What an attribute belongs to (its family and owner ids) and where each family keeps it in LevelDB.
 * Keys put the owner first so that prefix scans serve the listing reads: every user's value of one
 * attribute on an object, every attribute of a user.
 */
import { key } from '../../storage/db/database.ts';
import { attributeKey } from '../world/world-store.ts';

export type AttributeTarget =
  | { family: 'node' }
  | { family: 'object'; objectId: string }
  | { family: 'objectUser'; objectId: string; userId: string }
  | { family: 'user'; userId: string }
  | { family: 'userUser'; sourceId: string; targetId: string };

/** An attribute type's address. */
export interface AttributeRef {
  pluginId: string;
  name: string;
}

/** The attribute's key in its family's sublevel (object attributes: the world store's key). */
export function storageKey(target: AttributeTarget, ref: AttributeRef): string {
  switch (target.family) {
    case 'node':
      return key(ref.pluginId, ref.name);
    case 'object':
      return attributeKey(target.objectId, ref.pluginId, ref.name);
    case 'objectUser':
      return key(objectUserPrefix(target.objectId, ref), target.userId);
    case 'user':
      return key(target.userId, ref.pluginId, ref.name);
    case 'userUser':
      return key(target.sourceId, target.targetId, ref.pluginId, ref.name);
  }
}

/** Prefix of every user's value of one attribute on one object. */
export function objectUserPrefix(objectId: string, ref: AttributeRef): string {
  return key(objectId, ref.pluginId, ref.name);
}

/** The key of the attribute's per-row options (one sublevel for all families). */
export function optionsKey(target: AttributeTarget, ref: AttributeRef): string {
  return key(target.family, storageKey(target, ref));
}
