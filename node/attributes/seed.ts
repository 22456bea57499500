/**
 * First-start plugins and attribute types, after the original's seed migrations (ODYSSEY_API §3), with
 * permissions set explicitly where the original relied on a default that leaks (§6.1).
 *
 * Not here on purpose: `jwt_key`, `challenge_store`, `node_private_key`, `node_public_key` and the AI
 * `api_key` holders (`leonardo`, `blockadelabs`, `open_ai`). The node's secrets live in its data dir, never
 * in attributes, so no attribute route can hand them out.
 */
import { type Database, key } from '../../storage/db/database.ts';
import type { AttributeOptions, AttributeTypeRecord, PluginRecord } from '../../storage/db/records.ts';
import { CORE_PLUGIN_ID, renderSlotOf } from '../world/render.ts';
import { catalogTables } from './types.ts';

/** Full ids from the original's plugin seed migration; ODYSSEY_API §3 lists most of them by prefix only. */
export const PLUGINS = {
  core: { id: CORE_PLUGIN_ID, name: 'Core' },
  kusama: { id: '86dc3ae7-9f3d-42cb-85a3-a71abc3c3cb8', name: 'Kusama' },
  image: { id: 'ff40fbf0-8c22-437d-b27a-0258f99130fe', name: 'Image' },
  video: { id: '308fdacc-8c2d-40dc-bd5f-d1549e3e03ba', name: 'Video' },
  text: { id: 'fc9f2eb7-590a-4a1a-ac75-cd3bfeef28b2', name: 'Text' },
  miro: { id: '24071066-e8c6-4692-95b5-ae2dc3ed075c', name: 'Miro' },
  googleDrive: { id: 'c3f89640-e0f0-4536-ae0d-8fc8a75ec0cd', name: 'Google Drive' },
  hackathon: { id: '220578c8-5fec-42c8-ade1-14d970e714bd', name: 'Odyssey hackathon' },
  highFive: { id: '3253d616-215f-47a9-ba9d-93185eb3e6b5', name: 'High five' },
  eventCalendar: { id: '2b92edbc-5ef5-4028-89a6-d510f8583887', name: 'Event Calendar' },
  sdk: { id: '3023d874-c186-45bf-a7a8-60e2f57b8877', name: 'SDK' },
  canvas: { id: 'c782385b-f518-4078-9988-24f356a37c72', name: 'Canvas' },
} as const;

/** Permission presets. Roles: see permissions.ts. */
const PUBLIC_ADMIN = { read: 'any', write: 'admin' };
const PUBLIC_OWNER = { read: 'any', write: 'admin+user_owner' };
const PRIVATE_OWNER = { read: 'admin+user_owner', write: 'admin+user_owner' };
const ADMIN_ONLY = { read: 'admin', write: 'admin' };

const onWorld = (scope: 'object' | 'world') => ({ scope: [scope], topic: '' });

/** render_auto of the types whose ObjectData slots render.ts produces, so the catalog says what is sent. */
function renderAuto(name: string): Pick<AttributeOptions, 'render_auto'> {
  const slot = renderSlotOf(CORE_PLUGIN_ID, name);
  if (!slot) return {};
  return {
    render_auto: {
      slot_type: slot.slotType,
      slot_name: slot.slotName,
      value_field: slot.valueField,
      content_type: slot.slotType === 'texture' ? 'image' : slot.slotType,
    },
  };
}

type SeededType = Omit<AttributeTypeRecord, 'createdAt' | 'updatedAt'>;

const core = (name: string, description: string, options: AttributeOptions): SeededType => ({
  pluginId: CORE_PLUGIN_ID,
  name,
  description,
  options: { ...options, ...renderAuto(name) },
});
const of = (
  plugin: keyof typeof PLUGINS,
  name: string,
  description: string,
  options: AttributeOptions,
): SeededType => ({ pluginId: PLUGINS[plugin].id, name, description, options });

export const SEEDED_ATTRIBUTE_TYPES: readonly SeededType[] = [
  // Objects and worlds: public to read, edited by the object's admins.
  core('name', 'Object name', { permissions: PUBLIC_ADMIN }),
  core('description', 'Object description', { permissions: PUBLIC_ADMIN }),
  core('world_meta', 'World metadata and decorations', { permissions: PUBLIC_ADMIN }),
  core('world_settings', 'World settings', { permissions: PUBLIC_ADMIN }),
  core('world_avatar', 'World avatar image', { permissions: PUBLIC_ADMIN }),
  core('website_link', 'Link to a website', { permissions: PUBLIC_ADMIN }),
  core('active_skybox', 'The skybox shown in a world', { permissions: PUBLIC_ADMIN }),
  core('object_color', 'Object color', { permissions: PUBLIC_ADMIN }),
  core('object_effect', 'Visual 3D effect of an object', { permissions: PUBLIC_ADMIN }),
  core('texture', 'Object texture', { permissions: PUBLIC_ADMIN }),
  core('events', 'Object events', { permissions: PUBLIC_ADMIN }),
  core('spatial_audio', 'Spatial audio', { permissions: PUBLIC_ADMIN, posbus_auto: onWorld('world') }),
  core('soundtrack', 'Playlist', { permissions: PUBLIC_ADMIN, posbus_auto: onWorld('object') }),
  core('shaders', '3D shader effects', { permissions: PUBLIC_ADMIN, posbus_auto: onWorld('world') }),
  core('screenshare', 'Screenshare state', { permissions: PUBLIC_OWNER, posbus_auto: onWorld('object') }),
  core('VoiceChatUser', 'Voice chat users', { permissions: PUBLIC_OWNER, posbus_auto: onWorld('object') }),
  core('VoiceChatAction', 'Voice chat actions', {
    permissions: PUBLIC_OWNER,
    posbus_auto: onWorld('object'),
  }),
  core('user_customisable_data', 'Data of user-customisable objects', { permissions: PUBLIC_OWNER }),
  // Per user on an object (object-user family): the user and the object's admins write.
  core('skybox_list', 'Skyboxes of a user, keyed by image hash', { permissions: PUBLIC_OWNER }),
  core('vote', 'Votes', { permissions: PUBLIC_OWNER }),
  core('comments', 'Comments', { permissions: PUBLIC_OWNER }),
  core('emojis', 'Emoji reactions', { permissions: PUBLIC_OWNER }),
  // Private to a user.
  core('timeline_last_seen', 'When the user last viewed the timeline', { permissions: PRIVATE_OWNER }),
  core('skybox_ai', 'Generated skyboxes', {
    permissions: PRIVATE_OWNER,
    posbus_auto: { scope: ['user'], topic: '' },
  }),
  // Between two users: the source records, both ends read.
  core('high_five', 'High fives from one user to another', {
    permissions: { read: 'admin+user_owner+target_user', write: 'admin+user_owner' },
  }),
  // Node.
  core('node_settings', 'Node settings', { permissions: PUBLIC_ADMIN }),
  core('world_template', 'Template of new worlds', { permissions: ADMIN_ONLY }),
  core('hosting_allow_list', 'Users allowed to host worlds', { permissions: ADMIN_ONLY }),
  core('frontend_plugins', 'Plugins the UI loads', { permissions: PUBLIC_ADMIN }),
  // Plugins.
  of('kusama', 'wallet', 'Kusama/Substrate wallets', {
    permissions: { read: 'admin+user_owner', write: 'admin' },
  }),
  of('highFive', 'count', 'High fives given', { permissions: PUBLIC_ADMIN }),
  of('image', 'state', 'State of the image tile', { permissions: PUBLIC_ADMIN }),
  of('text', 'state', 'State of the text tile', { permissions: PUBLIC_ADMIN }),
  of('video', 'state', 'State of the video tile', { permissions: PUBLIC_ADMIN }),
  of('miro', 'state', 'Miro state', { permissions: PUBLIC_ADMIN, posbus_auto: onWorld('object') }),
  of('miro', 'config', 'Miro configuration', { permissions: PUBLIC_ADMIN }),
  of('googleDrive', 'state', 'Google Drive state', {
    permissions: PUBLIC_ADMIN,
    posbus_auto: onWorld('object'),
  }),
  of('googleDrive', 'config', 'Google Drive configuration', { permissions: PUBLIC_ADMIN }),
  of('sdk', 'bot', 'Bot state', { permissions: PUBLIC_ADMIN }),
  of('sdk', 'bot_world', 'Bot state sent to the world', {
    permissions: PUBLIC_ADMIN,
    posbus_auto: onWorld('world'),
  }),
  of('canvas', 'canvas', 'Canvas', { permissions: PUBLIC_ADMIN }),
  of('canvas', 'canvas_contribution', 'A contribution to a canvas', { permissions: PUBLIC_OWNER }),
];

const SEED_MARKER = 'attributeTypesSeed';
/** Bump to re-write the seeded rows (types and plugins added later by other means are kept). */
const SEED_VERSION = 1;

/** Writes the seeded plugins and types in one batch with the marker; does nothing once done. */
export async function seedAttributeTypes(db: Database): Promise<boolean> {
  if (((await db.meta.get(SEED_MARKER)) as number | undefined) === SEED_VERSION) return false;
  const now = Date.now();
  const plugins: PluginRecord[] = Object.values(PLUGINS).map(({ id, name }) => ({
    id,
    meta: { name },
    options: null,
    createdAt: now,
    updatedAt: now,
  }));
  const catalog = catalogTables(db);
  await db.level.batch([
    ...plugins.map((p) => ({ type: 'put' as const, sublevel: catalog.plugins, key: p.id, value: p })),
    ...SEEDED_ATTRIBUTE_TYPES.map((t) => ({
      type: 'put' as const,
      sublevel: catalog.attributeTypes,
      key: key(t.pluginId, t.name),
      value: { ...t, createdAt: now, updatedAt: now },
    })),
    { type: 'put', sublevel: db.meta, key: SEED_MARKER, value: SEED_VERSION },
  ]);
  return true;
}
