/**
 * Authorization of the whole REST API against one real node. The mutating operations are taken from the
 * node's own OpenAPI document, so a route added later cannot slip past: the table below must name every
 * one of them (a test fails otherwise), and every operation of the document is swept with missing and bad
 * tokens. Each table row calls its route with a VALID request against data of user A and expects the exact
 * refusal for every caller: no token, bad tokens (garbage, forged, alg none, expired, wrong issuer, another
 * node's), a guest, and another signed-in user B. After a refusal the whole LevelDB and the in-memory world
 * state must be unchanged; where a caller is legitimately allowed, the row says why and the write may touch
 * only the caller's own data. A control call by the rightful user then proves the request was valid.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { sign } from 'hono/jwt';
import sharp from 'sharp';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLUGINS } from '../../node/attributes/seed.ts';
import { TOKEN_ISSUER } from '../../node/auth/tokens.ts';
import { glb } from '../assets/support.ts';
import { call, type Reply, reason } from '../support/http.ts';
import { guest, startNode, type TestNode } from '../support/node.ts';
import { CUSTOM_TYPE } from './world-fixtures.ts';

const API = '/api/v4';
const CORE = PLUGINS.core.id;
const MUTATING = new Set(['post', 'put', 'patch', 'delete']);

interface Person {
  label: string;
  id?: string;
  token?: string;
  /** The key behind the user's wallet (signed-in users). */
  account?: PrivateKeyAccount;
}

interface Fixture {
  node: TestNode;
  /** Owner of the world, objects, activities and attributes under test (a non-guest wallet user). */
  A: Required<Person>;
  /** Another signed-in (non-guest) user. */
  B: Required<Person>;
  /** A third user, made an admin member of objects so that revoking can be tried. */
  C: Required<Person>;
  G: Person;
  /** A node admin (configured by wallet): the rightful writer of node attributes. */
  N: Required<Person>;
  /** A's world. */
  world: string;
  /** A's object in it, with an activity and attribute values (for the GET sweep). */
  object: string;
  activity: string;
  /** A's uploaded PNG (its CID), for the download routes. */
  asset: string;
}

interface Request {
  path: string;
  /** JSON, or a FormData for the multipart uploads. */
  body?: unknown;
}

type Refusal = { status: number; reason: string };
interface Allowance {
  /** Why this caller may: shown in failures and in the report. */
  allowed: string;
  status: number;
  /** Ids the write may touch besides the caller's own id (what it created), from the response. */
  owned?: (body: unknown, who: Person, f: Fixture) => string[] | Promise<string[]>;
  /** Extra checks of the result (e.g. the new object is the caller's). */
  verify?: (f: Fixture, who: Person, body: unknown) => Promise<void>;
}
type Outcome = Refusal | Allowance;

interface Row {
  /** Fresh targets for this row (ids by name), made by their rightful owner. */
  setup?: (f: Fixture) => Promise<Record<string, string>>;
  request: (f: Fixture, t: Record<string, string>, who: Person) => Promise<Request> | Request;
  /** Public operations: the same outcome for every caller, token or not. */
  public?: Outcome;
  guest?: Outcome;
  other?: Outcome;
  /** Who proves the request valid afterwards, and with which status. */
  control: { who: 'A' | 'N'; status: number };
}

const isAllowance = (o: Outcome): o is Allowance => 'allowed' in o;
const refuse = (status: number, why: string): Refusal => ({ status, reason: why });
const NOT_ADMIN = refuse(403, 'not_admin');
const NOT_PERMITTED = refuse(403, 'operation_not_permitted');

const value = (name: string, v: Record<string, unknown>) => ({
  plugin_id: CORE,
  attribute_name: name,
  attribute_value: v,
});
const subValue = (name: string, subKey: string, v: unknown) => ({
  plugin_id: CORE,
  attribute_name: name,
  sub_attribute_key: subKey,
  sub_attribute_value: v,
});
const q = (name: string, subKey?: string) =>
  `?${new URLSearchParams({ plugin_id: CORE, attribute_name: name, ...(subKey ? { sub_attribute_key: subKey } : {}) })}`;

const ANYONE: Person = { label: 'anyone' };

/** A REST call that must succeed (setup). */
async function must<T>(f: Fixture, who: Person, method: string, path: string, body?: unknown): Promise<T> {
  const res = await call<T>(f.node, method, `${API}${path}`, { token: who.token, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body;
}

/** A fresh object of A's in A's world. */
async function freshObject(f: Fixture): Promise<string> {
  const body = await must<{ object_id: string }>(f, f.A, 'POST', '/objects', {
    object_name: 'Lamp',
    parent_id: f.world,
    object_type_id: CUSTOM_TYPE,
  });
  return body.object_id;
}

/** A proof that `who` holds a new wallet (signed with that wallet's key), for attach-account. */
async function newWalletProof(f: Fixture) {
  const account = privateKeyToAccount(generatePrivateKey());
  const { challenge, nonce } = await must<{ challenge: string; nonce: string }>(
    f,
    ANYONE,
    'GET',
    `/auth/challenge?wallet=${account.address}`,
  );
  return {
    wallet: account.address,
    signedChallenge: await account.signMessage({ message: challenge }),
    nonce,
  };
}

const objectAttributeRows = (family: 'value' | 'sub'): Record<string, Row> => {
  const base = family === 'value' ? '/objects/{objectID}/attributes' : '/objects/{objectID}/attributes/sub';
  const setup = async (f: Fixture) => {
    const object = await freshObject(f);
    await must(f, f.A, 'POST', `/objects/${object}/attributes`, value('object_color', { value: '#123456' }));
    return { object };
  };
  const control = { who: 'A' as const, status: 202 };
  return {
    [`POST ${base}`]: {
      setup,
      request: (_f, t) => ({
        path: base.replace('{objectID}', t.object),
        body:
          family === 'value'
            ? value('object_color', { value: '#000000' })
            : subValue('object_color', 'value', '#000000'),
      }),
      guest: NOT_PERMITTED,
      other: NOT_PERMITTED,
      control,
    },
    [`DELETE ${base}`]: {
      setup,
      request: (_f, t) => ({
        path: `${base.replace('{objectID}', t.object)}${q('object_color', family === 'sub' ? 'value' : undefined)}`,
      }),
      guest: NOT_PERMITTED,
      other: NOT_PERMITTED,
      control: { who: 'A', status: 200 },
    },
  };
};

/**
 * The four value/sub-value writes of an attribute family whose value belongs to A (or to the node):
 * every other caller is refused with 403 operation_not_permitted.
 */
function ownedAttributeRows(opts: {
  valuePath: string;
  subPath: string;
  name: string;
  /** Path with ids filled in, and the rightful writer's value written first. */
  target: (f: Fixture) => Promise<{ valuePath: string; subPath: string }>;
  owner: 'A' | 'N';
}): Record<string, Row> {
  const setup = async (f: Fixture) => opts.target(f);
  const control = (status: number) => ({ who: opts.owner, status });
  return {
    [`POST ${opts.valuePath}`]: {
      setup,
      request: (_f, t) => ({ path: t.valuePath, body: value(opts.name, { k: 'defaced' }) }),
      guest: NOT_PERMITTED,
      other: NOT_PERMITTED,
      control: control(202),
    },
    [`DELETE ${opts.valuePath}`]: {
      setup,
      request: (_f, t) => ({ path: `${t.valuePath}${q(opts.name)}` }),
      guest: NOT_PERMITTED,
      other: NOT_PERMITTED,
      control: control(200),
    },
    [`POST ${opts.subPath}`]: {
      setup,
      request: (_f, t) => ({ path: t.subPath, body: subValue(opts.name, 'k', 'defaced') }),
      guest: NOT_PERMITTED,
      other: NOT_PERMITTED,
      control: control(202),
    },
    [`DELETE ${opts.subPath}`]: {
      setup,
      request: (_f, t) => ({ path: `${t.subPath}${q(opts.name, 'k')}` }),
      guest: NOT_PERMITTED,
      other: NOT_PERMITTED,
      control: control(200),
    },
  };
}

/** The caller's own user attribute: allowed for every signed-in caller, touching only their own row. */
const SELF_ATTRIBUTE = 'timeline_last_seen';
const self = (status: number): Allowance => ({
  allowed: "acts on the caller's own user attribute (/users/me)",
  status,
});
async function writeOwnAttribute(f: Fixture): Promise<Record<string, string>> {
  for (const who of [f.A, f.B, f.G])
    await must(f, who, 'POST', '/users/me/attributes', value(SELF_ATTRIBUTE, { at: 1, k: 'v' }));
  return {};
}

/** The owner (as seen by the node) of an object or world. */
const ownerOf = (f: Fixture, objectId: string) => f.node.node.store.findObject(objectId)?.object.ownerId;

let fileSeq = 0;
/** A small valid PNG, different on every call: the same bytes would be the same (first uploader's) asset. */
function freshPng(): Promise<Uint8Array> {
  const n = ++fileSeq;
  const background = { r: n & 255, g: (n >> 8) & 255, b: 99 };
  return sharp({ create: { width: 2, height: 2, channels: 3, background } })
    .png()
    .toBuffer();
}

/** A multipart body as a browser sends it: the fields, then the file. */
function form(
  field: string,
  data: Uint8Array,
  filename: string,
  fields: Record<string, string> = {},
): FormData {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  body.append(field, new Blob([data as Uint8Array<ArrayBuffer>]), filename);
  return body;
}

/**
 * Uploads are open to every signed-in user, guests included: each creates an asset of the caller's own
 * (its record names the caller as uploader). Same bytes would be someone else's existing asset, so every
 * call uploads new ones. `cidOf` finds the new asset's CID in the route's answer.
 */
function upload(
  status: number,
  cidOf: (f: Fixture, body: unknown) => Promise<string | undefined>,
): Allowance {
  return {
    allowed: "any signed-in user (guests too) may upload: it creates the caller's own asset",
    status,
    owned: async (body, _who, f) => {
      const cid = await cidOf(f, body);
      const record = cid ? await f.node.node.assets.store.get(cid) : undefined;
      return record ? [record.cid, record.umid] : [];
    },
    verify: async (f, who, body) => {
      const cid = await cidOf(f, body);
      expect(cid, 'the upload names its asset').toBeTruthy();
      expect((await f.node.node.assets.store.get(cid ?? ''))?.uploader).toBe(who.id);
    },
  };
}

const TABLE: Record<string, Row> = {
  // ---- auth --------------------------------------------------------------------------------------
  'POST /auth/guest-token': {
    request: () => ({ path: '/auth/guest-token' }),
    public: {
      allowed: 'public: anyone may become a new guest; a bearer header is ignored',
      status: 200,
      owned: (body) => [(body as { id: string }).id],
    },
    control: { who: 'A', status: 200 },
  },
  'POST /auth/token': {
    // Everyone tries to sign in as A with the key they hold: only A's own key gets A's token.
    request: async (f, _t, who) => {
      const { challenge, nonce } = await must<{ challenge: string; nonce: string }>(
        f,
        ANYONE,
        'GET',
        `/auth/challenge?wallet=${f.A.account.address}`,
      );
      const key = who.account ?? privateKeyToAccount(generatePrivateKey());
      return {
        path: '/auth/token',
        body: {
          wallet: f.A.account.address,
          signedChallenge: await key.signMessage({ message: challenge }),
          nonce,
        },
      };
    },
    public: refuse(403, 'invalid_signature'),
    control: { who: 'A', status: 200 },
  },
  'POST /users/me/attach-account': {
    request: async (f) => ({ path: '/users/me/attach-account', body: await newWalletProof(f) }),
    guest: refuse(403, 'guest_not_permitted'),
    other: {
      allowed: "attaches a wallet the caller proved to hold, to the caller's own account",
      status: 202,
      owned: (body) => (body as { wallet: string[] }).wallet,
    },
    control: { who: 'A', status: 202 },
  },
  // ---- users ------------------------------------------------------------------------------------
  'PATCH /profile': {
    request: () => ({ path: '/profile', body: { name: 'Renamed', profile: { bio: 'mine' } } }),
    guest: { allowed: "edits the caller's own profile", status: 200 },
    other: { allowed: "edits the caller's own profile", status: 200 },
    control: { who: 'A', status: 200 },
  },
  // ---- chain ------------------------------------------------------------------------------------
  'POST /users/me/stakes': {
    // Everyone reports a stake from A's wallet: only A may report stakes of A's wallets.
    request: (f) => ({
      path: '/users/me/stakes',
      body: {
        transaction_id: `0x${'5a'.repeat(32)}`,
        odyssey_id: f.world,
        wallet: f.A.account.address,
        comment: 'mine',
        amount: '10',
        kind: '0',
      },
    }),
    guest: refuse(403, 'wallet_not_yours'),
    other: refuse(403, 'wallet_not_yours'),
    control: { who: 'A', status: 200 },
  },
  // ---- worlds -----------------------------------------------------------------------------------
  'POST /worlds': {
    request: () => ({ path: '/worlds', body: { name: 'Elsewhere' } }),
    guest: refuse(403, 'world_creation_not_permitted'),
    other: {
      allowed: 'worldCreation=users (the default): any non-guest creates a world of their own',
      status: 201,
      owned: (body) => [(body as { id: string }).id],
      verify: async (f, who, body) => expect(ownerOf(f, (body as { id: string }).id)).toBe(who.id),
    },
    control: { who: 'A', status: 201 },
  },
  'PATCH /worlds/{objectID}': {
    request: (f) => ({ path: `/worlds/${f.world}`, body: { name: 'Taken', description: 'defaced' } }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'A', status: 200 },
  },
  // ---- objects ----------------------------------------------------------------------------------
  'POST /objects': {
    request: (f) => ({
      path: '/objects',
      body: { object_name: 'Graffiti', parent_id: f.world, object_type_id: CUSTOM_TYPE },
    }),
    guest: refuse(403, 'object_creation_not_permitted'),
    other: refuse(403, 'object_creation_not_permitted'),
    control: { who: 'A', status: 201 },
  },
  'POST /objects/{objectID}/spawn-by-user': {
    request: (f) => ({
      path: `/objects/${f.world}/spawn-by-user`,
      body: { object_name: 'Gift', object_type_id: CUSTOM_TYPE },
    }),
    guest: refuse(403, 'object_creation_not_permitted'),
    other: refuse(403, 'object_creation_not_permitted'),
    control: { who: 'A', status: 201 },
  },
  'PATCH /objects/{objectID}': {
    setup: async (f) => ({ object: await freshObject(f) }),
    request: (_f, t) => ({ path: `/objects/${t.object}`, body: { object_name: 'Mine', asset_3d_id: '' } }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'A', status: 200 },
  },
  'DELETE /objects/{objectID}': {
    setup: async (f) => ({ object: await freshObject(f) }),
    request: (_f, t) => ({ path: `/objects/${t.object}` }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'A', status: 200 },
  },
  'POST /objects/{objectID}/clone': {
    setup: async (f) => ({ object: await freshObject(f) }),
    request: (_f, t) => ({ path: `/objects/${t.object}/clone` }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'A', status: 200 },
  },
  'POST /objects/{objectID}/members': {
    setup: async (f) => ({ object: await freshObject(f) }),
    // Every caller tries to make B (a valid, non-guest member) an admin of A's object.
    request: (f, t) => ({ path: `/objects/${t.object}/members`, body: { user_id: f.B.id, role: 'admin' } }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'A', status: 200 },
  },
  'DELETE /objects/{objectID}/members/{userID}': {
    setup: async (f) => {
      const object = await freshObject(f);
      await must(f, f.A, 'POST', `/objects/${object}/members`, { user_id: f.C.id, role: 'admin' });
      return { object };
    },
    request: (f, t) => ({ path: `/objects/${t.object}/members/${f.C.id}` }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'A', status: 200 },
  },
  // ---- attributes -------------------------------------------------------------------------------
  ...objectAttributeRows('value'),
  ...objectAttributeRows('sub'),
  'POST /objects/{objectID}/attributes/publicize': {
    setup: async (f) => ({ object: await freshObject(f) }),
    request: (_f, t) => ({ path: `/objects/${t.object}/attributes/publicize${q('object_color')}` }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'A', status: 200 },
  },
  ...ownedAttributeRows({
    valuePath: '/objects/{objectID}/{userID}/attributes',
    subPath: '/objects/{objectID}/{userID}/attributes/sub',
    name: 'vote',
    owner: 'A',
    target: async (f) => {
      const object = await freshObject(f);
      const valuePath = `/objects/${object}/${f.A.id}/attributes`;
      await must(f, f.A, 'POST', valuePath, value('vote', { k: 'up' }));
      return { valuePath, subPath: `${valuePath}/sub` };
    },
  }),
  ...ownedAttributeRows({
    valuePath: '/users/{userID}/attributes',
    subPath: '/users/{userID}/attributes/sub',
    name: SELF_ATTRIBUTE,
    owner: 'A',
    target: async (f) => {
      const valuePath = `/users/${f.A.id}/attributes`;
      await must(f, f.A, 'POST', valuePath, value(SELF_ATTRIBUTE, { k: 'v' }));
      return { valuePath, subPath: `${valuePath}/sub` };
    },
  }),
  // A's high five to B: B, the target, may read it but not write it.
  ...ownedAttributeRows({
    valuePath: '/users/attributes/{userID}/{targetID}',
    subPath: '/users/attributes/sub/{userID}/{targetID}',
    name: 'high_five',
    owner: 'A',
    target: async (f) => {
      const valuePath = `/users/attributes/${f.A.id}/${f.B.id}`;
      await must(f, f.A, 'POST', valuePath, value('high_five', { k: 1 }));
      return { valuePath, subPath: `/users/attributes/sub/${f.A.id}/${f.B.id}` };
    },
  }),
  ...ownedAttributeRows({
    valuePath: '/node/attributes',
    subPath: '/node/attributes/sub',
    name: 'node_settings',
    owner: 'N',
    target: async (f) => {
      await must(f, f.N, 'POST', '/node/attributes', value('node_settings', { k: 'v' }));
      return { valuePath: '/node/attributes', subPath: '/node/attributes/sub' };
    },
  }),
  'POST /users/me/attributes': {
    request: () => ({ path: '/users/me/attributes', body: value(SELF_ATTRIBUTE, { at: 2 }) }),
    guest: self(202),
    other: self(202),
    control: { who: 'A', status: 202 },
  },
  'DELETE /users/me/attributes': {
    setup: writeOwnAttribute,
    request: () => ({ path: `/users/me/attributes${q(SELF_ATTRIBUTE)}` }),
    guest: self(200),
    other: self(200),
    control: { who: 'A', status: 200 },
  },
  'POST /users/me/attributes/sub': {
    request: () => ({ path: '/users/me/attributes/sub', body: subValue(SELF_ATTRIBUTE, 'k', 'w') }),
    guest: self(202),
    other: self(202),
    control: { who: 'A', status: 202 },
  },
  'DELETE /users/me/attributes/sub': {
    setup: writeOwnAttribute,
    request: () => ({ path: `/users/me/attributes/sub${q(SELF_ATTRIBUTE, 'k')}` }),
    guest: self(200),
    other: self(200),
    control: { who: 'A', status: 200 },
  },
  // ---- activities -------------------------------------------------------------------------------
  'POST /objects/{objectID}/timeline': {
    setup: async (f) => ({ object: await freshObject(f) }),
    request: (_f, t) => ({
      path: `/objects/${t.object}/timeline`,
      body: { type: 'screenshot', hash: 'd41d8cd98f00b204e9800998ecf8427e', description: 'hello' },
    }),
    guest: {
      allowed: "any signed-in user posts on a timeline (the original's newsfeed); the post is the caller's",
      status: 201,
      owned: (body) => [(body as { activity_id: string }).activity_id],
      verify: async (_f, who, body) => expect((body as { user_id: string }).user_id).toBe(who.id),
    },
    other: {
      allowed: "any signed-in user posts on a timeline (the original's newsfeed); the post is the caller's",
      status: 201,
      owned: (body) => [(body as { activity_id: string }).activity_id],
      verify: async (_f, who, body) => expect((body as { user_id: string }).user_id).toBe(who.id),
    },
    control: { who: 'A', status: 201 },
  },
  'PATCH /objects/{objectID}/timeline/{activityID}': {
    setup: async (f) => postedActivity(f),
    request: (_f, t) => ({
      path: `/objects/${t.object}/timeline/${t.activity}`,
      body: { description: 'defaced', hash: 'ffff' },
    }),
    guest: NOT_PERMITTED,
    other: NOT_PERMITTED,
    control: { who: 'A', status: 200 },
  },
  'DELETE /objects/{objectID}/timeline/{activityID}': {
    setup: async (f) => postedActivity(f),
    request: (_f, t) => ({ path: `/objects/${t.object}/timeline/${t.activity}` }),
    guest: NOT_PERMITTED,
    other: NOT_PERMITTED,
    control: { who: 'A', status: 200 },
  },
  // ---- assets -----------------------------------------------------------------------------------
  'POST /assets': {
    request: async () => ({
      path: '/assets',
      body: form('file', await freshPng(), 'sky.png', { kind: 'texture', name: 'Sky' }),
    }),
    guest: upload(201, async (_f, body) => (body as { cid?: string }).cid),
    other: upload(201, async (_f, body) => (body as { cid?: string }).cid),
    control: { who: 'A', status: 201 },
  },
  'POST /assets-3d/upload': {
    request: () => ({
      path: '/assets-3d/upload',
      body: form('asset', glb(4096, `security-${++fileSeq}`), 'statue.glb', { name: 'Statue' }),
    }),
    guest: upload(202, (f, body) => f.node.node.assets.store.cidOfUmid((body as { id: string }).id)),
    other: upload(202, (f, body) => f.node.node.assets.store.cidOfUmid((body as { id: string }).id)),
    control: { who: 'A', status: 202 },
  },
  'POST /media/upload/image': {
    request: async () => ({ path: '/media/upload/image', body: form('file', await freshPng(), 'photo.png') }),
    guest: upload(200, async (_f, body) => (body as { hash?: string }).hash),
    other: upload(200, async (_f, body) => (body as { hash?: string }).hash),
    control: { who: 'A', status: 200 },
  },
  'POST /assets/gc': {
    request: () => ({ path: '/assets/gc' }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'N', status: 200 },
  },
  // This node follows no chain: the admin's request is valid and finds nothing to re-trust (the route's
  // success is tested in test/federation/chains.test.ts).
  'POST /harvester/chains/{chain}/peers/{peerId}/trust': {
    request: () => ({
      path: '/harvester/chains/nova/peers/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq/trust',
    }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'N', status: 404 },
  },
  // ---- federation --------------------------------------------------------------------------------
  'POST /federation/mirrors': {
    request: (f) => ({ path: '/federation/mirrors', body: { world_id: f.world } }),
    guest: NOT_ADMIN,
    other: NOT_ADMIN,
    control: { who: 'N', status: 200 },
  },
};

async function postedActivity(f: Fixture): Promise<Record<string, string>> {
  const object = await freshObject(f);
  const posted = await must<{ activity_id: string }>(f, f.A, 'POST', `/objects/${object}/timeline`, {
    type: 'video',
    hash: 'cafe',
  });
  return { object, activity: posted.activity_id };
}

// ---- state snapshots --------------------------------------------------------------------------------

/** Every key of the node's LevelDB with its raw value (hex). */
async function dbSnapshot(node: TestNode): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of node.node.db.level.iterator<string, Uint8Array>({
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  })) {
    out.set(k, Buffer.from(v).toString('hex'));
  }
  return out;
}

/** The CIDs of every block in the node's blockstore (files under ipfs/block-files, apart from the node's LevelDB). */
async function blockSnapshot(node: TestNode): Promise<string> {
  const cids: string[] = [];
  for await (const { cid } of node.node.assets.store.ipfs.blocks.getAll()) cids.push(cid.toString());
  return cids.sort().join(',');
}

/** The in-memory worlds (objects and attributes), as the world store serves them. */
function memorySnapshot(node: TestNode): string {
  const { store } = node.node;
  return JSON.stringify(
    store.worldIds().map((id) => {
      const state = store.get(id);
      return [id, [...(state?.objects ?? [])], [...(state?.attributes ?? [])]];
    }),
  );
}

/** Keys added, changed or removed between two snapshots. */
function changedKeys(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}

// ---- the operations of the document -----------------------------------------------------------------

interface OpenApiOperation {
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean }[];
}
type OpenApiDocument = { paths: Record<string, Record<string, OpenApiOperation>> };

interface Operation {
  method: string;
  path: string;
  key: string;
  op: OpenApiOperation;
}

function operations(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      key: `${method.toUpperCase()} ${path}`,
      op,
    })),
  );
}

describe('API security', () => {
  let f: Fixture;
  let doc: OpenApiDocument;
  let other: TestNode;
  let secret: string;
  /** The bad-token callers: each must get 401 on every route that needs a token. */
  let unauthenticated: Person[];

  beforeAll(async () => {
    const nodeAdmin = privateKeyToAccount(generatePrivateKey());
    const node = await startNode({
      admins: nodeAdmin.address,
      authRequestsPerMinute: 100_000,
      objectCreatesPerMinute: 100_000,
      activityPostsPerMinute: 100_000,
      uploadsPerMinute: 100_000,
    });
    other = await startNode();
    const signedIn = async (label: string, account = privateKeyToAccount(generatePrivateKey())) => {
      // A non-guest wallet user ('0x' + 40 hex), as a wallet sign-in would create it.
      const { user } = await node.node.users.walletUser(account.address.toLowerCase());
      return { label, id: user.id, token: await node.node.tokens.issue(user.id), account };
    };
    const g = await guest(node);
    f = {
      node,
      A: await signedIn('A'),
      B: await signedIn('B (another user)'),
      C: await signedIn('C'),
      G: { label: 'G (guest)', id: g.id, token: g.token },
      N: await signedIn('N (node admin)', nodeAdmin),
      world: '',
      object: '',
      activity: '',
      asset: '',
    };
    const world = await must<{ id: string }>(f, f.A, 'POST', '/worlds', { name: 'Atlantis' });
    f.world = world.id;
    const { object, activity } = await postedActivity(f);
    f.object = object;
    f.activity = activity;
    const png = form('file', await freshPng(), 'tile.png', { kind: 'texture' });
    f.asset = (await must<{ cid: string }>(f, f.A, 'POST', '/assets', png)).cid;

    doc = (await call<OpenApiDocument>(node, 'GET', `${API}/openapi.json`)).body;
    secret = (await readFile(join(node.dir, 'node-secret'), 'utf8')).trim();
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: f.A.id, iss: TOKEN_ISSUER, iat: now, exp: now + 3600 };
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    unauthenticated = [
      { label: 'no token' },
      { label: 'garbage token', token: 'not-a-jwt' },
      { label: "A's claims, forged signature", token: await sign(claims, 'x'.repeat(43), 'HS256') },
      { label: "A's claims, alg none", token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.` },
      {
        label: "A's expired token",
        token: await sign({ ...claims, iat: now - 7200, exp: now - 3600 }, secret, 'HS256'),
      },
      {
        label: "A's claims, wrong issuer",
        token: await sign({ ...claims, iss: 'elsewhere' }, secret, 'HS256'),
      },
      { label: "A's token from another node", token: await other.node.tokens.issue(f.A.id) },
    ];
  });
  afterAll(async () => {
    await f?.node.cleanup();
    await other?.cleanup();
  });

  it('the table names exactly the mutating operations of the OpenAPI document', () => {
    const documented = operations(doc)
      .filter((o) => MUTATING.has(o.method.toLowerCase()))
      .map((o) => o.key)
      .sort();
    expect(documented.length).toBeGreaterThan(40);
    const missing = documented.filter((k) => !(k in TABLE));
    const stale = Object.keys(TABLE).filter((k) => !documented.includes(k));
    expect(missing, 'mutating operations without a row in TABLE').toEqual([]);
    expect(stale, 'rows in TABLE for operations not in the document').toEqual([]);
    // The document's `security` says which operations need a token; the table agrees.
    for (const o of operations(doc).filter((x) => x.key in TABLE))
      expect(!o.op.security, `${o.key} public in the document`).toBe(TABLE[o.key].public !== undefined);
  });

  it('every operation of the document refuses missing and bad tokens (401), and changes nothing', async () => {
    const before = await dbSnapshot(f.node);
    const blocks = await blockSnapshot(f.node);
    const memory = memorySnapshot(f.node);
    for (const o of operations(doc)) {
      const path = fillPath(f, o.path);
      for (const who of unauthenticated) {
        const body = ['GET', 'HEAD', 'DELETE'].includes(o.method) ? undefined : {};
        const res = await call(f.node, o.method, `${API}${path}`, { token: who.token, body });
        const what = `${o.key} with ${who.label}: ${JSON.stringify(res.body)}`;
        if (o.op.security)
          expect([res.status, reason(res)], what).toEqual([401, 'failed_to_verify_access_token']);
        else expect(res.status, what).not.toBe(401);
      }
    }
    // Public operations were called too: only guest-token writes (new guests, nothing else).
    const changed = changedKeys(before, await dbSnapshot(f.node));
    expect(changed.every((k) => k.startsWith('!users!'))).toBe(true);
    expect(changed.every((k) => !before.has(k))).toBe(true);
    expect(await blockSnapshot(f.node), 'blocks written').toBe(blocks);
    expect(memorySnapshot(f.node)).toBe(memory);
  });

  describe.each(Object.keys(TABLE))('%s', (key) => {
    const row = TABLE[key];
    const method = key.split(' ')[0];

    it('refuses or confines every caller, then the rightful user succeeds', async () => {
      const t = (await row.setup?.(f)) ?? {};
      const callers: [Person, Outcome | undefined][] = [
        ...unauthenticated.map((p): [Person, Outcome | undefined] => [
          p,
          row.public ?? refuse(401, 'failed_to_verify_access_token'),
        ]),
        [f.G, row.public ?? row.guest],
        [f.B, row.public ?? row.other],
      ];
      for (const [who, expected] of callers) {
        if (!expected) throw new Error(`${key}: no expectation for ${who.label}`);
        const req = await row.request(f, t, who);
        const before = await dbSnapshot(f.node);
        const blocks = await blockSnapshot(f.node);
        const memory = memorySnapshot(f.node);
        const res = await call(f.node, method, `${API}${req.path}`, { token: who.token, body: req.body });
        const what = `${key} by ${who.label}: ${JSON.stringify(res.body)}`;
        const after = await dbSnapshot(f.node);
        if (isAllowance(expected)) {
          expect(res.status, what).toBe(expected.status);
          // Only the caller's own data (and what the call created) changed.
          const mine = [who.id, ...((await expected.owned?.(res.body, who, f)) ?? [])].filter(
            (x): x is string => !!x,
          );
          const foreign = changedKeys(before, after).filter(
            (k) => !mine.some((id) => k.toLowerCase().includes(id.toLowerCase())),
          );
          expect(foreign, `${what}: wrote outside the caller's data`).toEqual([]);
          await expected.verify?.(f, who, res.body);
        } else {
          expect([res.status, reason(res)], what).toEqual([expected.status, expected.reason]);
          expect(changedKeys(before, after), `${what}: changed LevelDB`).toEqual([]);
          expect(await blockSnapshot(f.node), `${what}: wrote blocks`).toBe(blocks);
          expect(memorySnapshot(f.node), `${what}: changed the world state`).toBe(memory);
        }
      }
      // The request was valid: its rightful user gets through.
      const rightful = f[row.control.who];
      const req = await row.request(f, t, rightful);
      const res: Reply<unknown> = await call(f.node, method, `${API}${req.path}`, {
        token: rightful.token,
        body: req.body,
      });
      expect(res.status, `${key} by ${rightful.label}: ${JSON.stringify(res.body)}`).toBe(row.control.status);
    });
  });

  it("sign-in as A works only with A's key, and hands out A's token", async () => {
    const req = await TABLE['POST /auth/token'].request(f, {}, f.A);
    const res = await call<{ token: string }>(f.node, 'POST', `${API}${req.path}`, { body: req.body });
    expect(res.status).toBe(200);
    const me = await call<{ id: string }>(f.node, 'GET', `${API}/users/me`, { token: res.body.token });
    expect(me.body.id).toBe(f.A.id);
  });

  it('tokens of another node are refused, even for a user id that exists here', async () => {
    const { user } = await other.node.users.walletUser(`0x${'0b'.repeat(20)}`);
    for (const token of [await other.node.tokens.issue(user.id), await other.node.tokens.issue(f.A.id)]) {
      const res = await call(f.node, 'GET', `${API}/users/me`, { token });
      expect([res.status, reason(res)]).toEqual([401, 'failed_to_verify_access_token']);
    }
    // And the other way round.
    const res = await call(other, 'GET', `${API}/users/me`, { token: f.A.token });
    expect(res.status).toBe(401);
  });

  it('the public routes cannot be used to reach around the token check (dot segments, encodings)', async () => {
    const paths = [
      '/auth/../worlds',
      '/auth/%2e%2e/worlds',
      '/auth/..%2fworlds',
      '/auth%2fx/../../users/me',
      '/plugin/../users/me',
      '/openapi.json/../users/me',
      '/config/ui-client/../../users',
      '//worlds',
      '/users/me?x=/auth/',
      '/users/me#/auth/',
      // The public asset paths (downloads, metadata, /media/render/…) must not open anything else either.
      '/assets/../users/me',
      '/assets/x/meta/../../../users/me',
      '/media/render/../../users/me',
      '/media/render/get/x/../../../../assets/gc',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST']) {
        const status = await rawRequest(f.node, method, `${API}${path}`, JSON.stringify({ name: 'Sneaky' }));
        expect([401, 404], `${method} ${path} without a token: ${status}`).toContain(status);
      }
    }
  });

  it("no GET route answers with the node's secret", async () => {
    expect(secret.length).toBeGreaterThanOrEqual(32);
    // Values behind every attribute GET, so that each route answers 200 with real data.
    const v = { k: 'v' };
    await must(f, f.A, 'POST', `/objects/${f.object}/attributes`, value('object_color', v));
    await must(f, f.A, 'POST', `/objects/${f.object}/${f.A.id}/attributes`, value('vote', v));
    await must(f, f.A, 'POST', `/users/${f.A.id}/attributes`, value(SELF_ATTRIBUTE, v));
    await must(f, f.A, 'POST', `/users/attributes/${f.A.id}/${f.B.id}`, value('high_five', v));
    await must(f, f.N, 'POST', '/node/attributes', value('node_settings', v));
    const gets = operations(doc).filter((o) => o.method === 'GET');
    expect(gets.length).toBeGreaterThan(20);
    const paths = [
      ...gets.map((o) => `${API}${fillPath(f, o.path)}${fillQuery(f, o)}`),
      `${API}/openapi.json`,
      '/api/docs',
      '/health',
      '/version',
    ];
    // Operator routes answer node admins only: they are read as one.
    const adminOnly = [`${API}/federation/peers`, `${API}/federation/traffic`];
    const adminOnlyPattern = /\/assets\/[^/]+\/providers$/;
    for (const path of paths) {
      const reader = adminOnly.includes(path) || adminOnlyPattern.test(path) ? f.N : f.A;
      const res = await fetch(`${f.node.url}${path}`, {
        headers: { authorization: `Bearer ${reader.token}` },
      });
      const text = await res.text();
      expect(res.status, `GET ${path}: ${text}`).toBe(200);
      expect(text.includes(secret), `GET ${path} leaks the node secret`).toBe(false);
      for (const who of [f.A, f.B, f.G, f.N])
        expect(text.includes(who.token ?? '-'), `GET ${path} shows ${who.label}'s token`).toBe(false);
      expect(JSON.stringify([...res.headers]).includes(secret), `GET ${path} headers`).toBe(false);
    }
  });
});

/** A request sent exactly as written (fetch would normalize the path first); resolves with the status. */
function rawRequest(node: TestNode, method: string, path: string, body: string): Promise<number> {
  const { hostname, port } = new URL(node.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, method, path, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : body);
  });
}

/** A path of the document with A's ids for its parameters. */
function fillPath(f: Fixture, path: string): string {
  const ids: Record<string, string> = {
    objectID: path.startsWith('/worlds/') ? f.world : f.object,
    worldID: f.world,
    chain: 'nova',
    peerId: '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq',
    userID: f.A.id,
    targetID: f.B.id,
    activityID: f.activity,
    pluginID: CORE,
    attrName: 'vote',
    // An Odyssey NFT's token id is its world id as a 128-bit number.
    nftID: BigInt(`0x${f.world.replace(/-/g, '')}`).toString(),
    // A's PNG: every download route answers 200 with it (the texture route scales it).
    assetID: f.asset,
    hash: f.asset,
    cid: f.asset,
    size: 's3',
  };
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!(name in ids)) throw new Error(`no test value for path parameter ${name} of ${path}`);
    return ids[name];
  });
}

/** Values of A's data for a GET's required query parameters, so that the route answers 200. */
function fillQuery(f: Fixture, o: Operation): string {
  const attribute = o.path.startsWith('/node/')
    ? 'node_settings'
    : o.path.startsWith('/users/attributes/')
      ? 'high_five'
      : o.path.includes('{userID}/attributes') && o.path.startsWith('/objects/')
        ? 'vote'
        : o.path.includes('all-users')
          ? 'vote'
          : o.path.startsWith('/users/')
            ? SELF_ATTRIBUTE
            : 'object_color';
  const values: Record<string, string> = {
    plugin_id: CORE,
    attribute_name: attribute,
    sub_attribute_key: 'k',
    wallet: f.A.account.address,
    world: f.world,
  };
  const params = new URLSearchParams();
  for (const p of o.op.parameters ?? []) {
    if (p.in !== 'query' || !p.required) continue;
    if (!(p.name in values)) throw new Error(`no test value for query parameter ${p.name} of ${o.key}`);
    params.set(p.name, values[p.name]);
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}
