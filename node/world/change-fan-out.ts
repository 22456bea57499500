/**
 * The fan-out of world changes: listens to `WorldStore` 'change' events and sends each applied change to
 * the people in that world as the PosBus messages the original sends for it.
 */
import type { AnyMap, Message } from '../../protocol/posbus/index.ts';
import { encode } from '../../protocol/posbus/index.ts';
import { addRenderSlot } from './render.ts';
import type { Room } from './room.ts';
import { objectData, objectDefinition } from './wire.ts';
import type { WorldChange, WorldState, WorldStore } from './world-store.ts';

export interface ChangeFanOutComponents {
  store: WorldStore;
  nodeId: string;
  /** True when changes of an object attribute of this type go to everyone in the world (its `posbus_auto`). */
  relaysAttribute(pluginId: string, name: string): boolean;
  /** The live room of a world, if anyone is in it. */
  roomOf(worldId: string): Room | undefined;
}

export class ChangeFanOut {
  private readonly c: ChangeFanOutComponents;
  private readonly onChange = (change: WorldChange) => this.fanOut(change);

  constructor(components: ChangeFanOutComponents) {
    this.c = components;
  }

  start(): void {
    this.c.store.on('change', this.onChange);
  }

  stop(): void {
    this.c.store.off('change', this.onChange);
  }

  /** Turns an applied change into the messages the original sends for it, to everyone in that world. */
  private fanOut(change: WorldChange): void {
    const room = this.c.roomOf(change.worldId);
    if (change.kind === 'object' && change.object.removed) {
      // A removed object's locks go with it.
      room?.locks.delete(change.object.id);
    }
    if (!room) return;
    for (const frame of changeFrames(
      change,
      this.c.nodeId,
      this.c.store.get(change.worldId),
      this.c.relaysAttribute,
    ))
      room.broadcast(frame);
  }
}

function changeFrames(
  change: WorldChange,
  nodeId: string,
  state: WorldState | undefined,
  relaysAttribute: ChangeFanOutComponents['relaysAttribute'],
): Uint8Array[] {
  const messages: Message[] = [];
  if (change.kind === 'attribute') {
    // As the original: values go out only for types with posbus_auto; render data always goes as ObjectData.
    if (relaysAttribute(change.pluginId, change.name)) {
      messages.push({
        type: 'AttributeValueChanged',
        pluginId: change.pluginId,
        attributeName: change.name,
        changeType: change.value === null ? 'attribute_removed' : 'attribute_changed',
        value: change.value as AnyMap | null,
        targetId: change.objectId,
      });
    }
    const entries: Record<string, AnyMap | null> = {};
    if (addRenderSlot(entries, change.pluginId, change.name, change.value)) {
      messages.push({ type: 'ObjectData', id: change.objectId, entries });
    }
  } else if (change.object.removed) {
    messages.push({ type: 'RemoveObjects', objects: [change.object.id] });
  } else if (!change.created && change.changed.length === 1 && change.changed[0] === 'transform') {
    messages.push({ type: 'ObjectTransform', id: change.object.id, transform: change.object.transform });
  } else {
    messages.push({ type: 'AddObjects', objects: [objectDefinition(change.object, nodeId)] });
    const data = state && objectData(state, change.object.id);
    if (data) messages.push(data);
  }
  return messages.map(encode);
}
