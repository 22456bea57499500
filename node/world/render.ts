/**
 * Which object attributes are render data (sent to clients as ObjectData slots), after the original's
 * `render_auto` options of its core attribute types: slot type, slot name, and the value field to show.
 */
import type { AnyMap } from '../../protocol/posbus/index.ts';

/** The core plugin of the original, owner of the built-in attribute types. */
export const CORE_PLUGIN_ID = 'f0f0f0f0-0f0f-4ff0-af0f-f0f0f0f0f0f0';

interface RenderSlot {
  slotType: 'texture' | 'string' | 'number' | 'audio';
  slotName: string;
  valueField: string;
}

const RENDER_SLOTS: Record<string, RenderSlot> = {
  [`${CORE_PLUGIN_ID}!name`]: { slotType: 'string', slotName: 'name', valueField: 'name' },
  [`${CORE_PLUGIN_ID}!object_color`]: { slotType: 'string', slotName: 'object_color', valueField: 'value' },
  [`${CORE_PLUGIN_ID}!texture`]: {
    slotType: 'texture',
    slotName: 'object_texture',
    valueField: 'render_hash',
  },
  [`${CORE_PLUGIN_ID}!active_skybox`]: {
    slotType: 'texture',
    slotName: 'skybox_custom',
    valueField: 'render_hash',
  },
};

export function renderSlotOf(pluginId: string, name: string): RenderSlot | undefined {
  return RENDER_SLOTS[`${pluginId}!${name}`];
}

/** Adds one attribute's render slot to ObjectData entries; returns false when the attribute is not render data. */
export function addRenderSlot(
  entries: Record<string, AnyMap | null>,
  pluginId: string,
  name: string,
  value: Record<string, unknown> | null,
): boolean {
  const slot = renderSlotOf(pluginId, name);
  if (!slot) return false;
  const shown = value?.[slot.valueField];
  let slots = entries[slot.slotType];
  if (!slots) {
    slots = {};
    entries[slot.slotType] = slots;
  }
  slots[slot.slotName] = shown === undefined ? null : (shown as AnyMap[string]);
  return true;
}
