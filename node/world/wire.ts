/** Conversions from stored world records to the PosBus messages that carry them. */
import type { Message, ObjectDefinition, UserData } from '../../protocol/posbus/index.ts';
import type { ObjectRecord, UserRecord } from '../../storage/db/records.ts';
import { addRenderSlot } from './render.ts';
import type { WorldState } from './world-store.ts';

export function objectDefinition(object: ObjectRecord, nodeId: string): ObjectDefinition {
  return {
    id: object.id,
    // A world's parent on the wire is the node (the original's node object).
    parentId: object.id === object.worldId ? nodeId : object.parentId,
    assetType: object.assetType,
    assetFormat: object.assetFormat,
    name: object.name,
    transform: object.transform,
    isEditable: object.isEditable,
    tetheredToParent: object.tetheredToParent,
    showOnMinimap: object.showOnMinimap,
  };
}

/** The world's live objects depth-first from the world itself, parents before children. */
export function objectTree(state: WorldState): ObjectRecord[] {
  const children = new Map<string, ObjectRecord[]>();
  for (const object of state.objects.values()) {
    if (object.removed || object.id === state.id) continue;
    const list = children.get(object.parentId);
    if (list) list.push(object);
    else children.set(object.parentId, [object]);
  }
  const root = state.objects.get(state.id);
  if (!root) return [];
  const out: ObjectRecord[] = [];
  const visit = (object: ObjectRecord) => {
    out.push(object);
    for (const child of children.get(object.id) ?? []) visit(child);
  };
  visit(root);
  return out;
}

/** ObjectData of an object with every render slot its attributes fill, or undefined when it has none. */
export function objectData(state: WorldState, objectId: string): Message | undefined {
  return renderData(state, objectId).get(objectId);
}

/**
 * ObjectData of every object with render data (or of one object), in one pass over the world's attributes,
 * so that streaming a world on entry costs O(attributes), not O(objects × attributes).
 */
export function renderData(
  state: WorldState,
  onlyObjectId?: string,
): Map<string, Message & { type: 'ObjectData' }> {
  const out = new Map<string, Message & { type: 'ObjectData' }>();
  const prefix = onlyObjectId === undefined ? '' : `${onlyObjectId}!`;
  for (const [k, attr] of state.attributes) {
    if (attr.value === null || !k.startsWith(prefix)) continue;
    const [objectId, pluginId, name] = k.split('!');
    const data = out.get(objectId) ?? { type: 'ObjectData' as const, id: objectId, entries: {} };
    if (addRenderSlot(data.entries, pluginId, name, attr.value)) out.set(objectId, data);
  }
  return out;
}

export function userData(user: UserRecord, transform: UserData['transform']): UserData {
  return { id: user.id, name: user.name, avatar: user.avatar, transform, isGuest: user.isGuest };
}
