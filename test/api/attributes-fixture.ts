/**
 * The cast of the attribute suites on one real node: no token, a guest, the owner of user attributes,
 * another user, an admin of one object (the red cube) and a node admin (by wallet, in the node's config).
 */
import { PLUGINS } from '../../node/attributes/seed.ts';
import { call, type Reply } from '../support/http.ts';
import { guest, startNode, type TestNode } from '../support/node.ts';

export const CORE = PLUGINS.core.id;
export const CUBE = '5e1f0d2c-7a41-4c39-9b1e-0d0000000101';
const NODE_ADMIN_WALLET = `0x${'ad'.repeat(20)}`;

export type Who = 'none' | 'guest' | 'owner' | 'other' | 'objectAdmin' | 'nodeAdmin';

export interface Cast {
  node: TestNode;
  /** user id of each cast member (none: '') */
  id: Record<Who, string>;
  token: Record<Who, string | undefined>;
  /** The node object's id (object-user attributes hang on it for node-wide lists). */
  nodeId: string;
}

async function member(node: TestNode, wallet: string): Promise<{ id: string; token: string }> {
  const { user } = await node.node.users.walletUser(wallet);
  return { id: user.id, token: await node.node.tokens.issue(user.id) };
}

export async function startCast(): Promise<Cast> {
  const node = await startNode({ admins: NODE_ADMIN_WALLET });
  const g = await guest(node);
  const owner = await member(node, `0x${'01'.repeat(20)}`);
  const other = await member(node, `0x${'02'.repeat(20)}`);
  const objectAdmin = await member(node, `0x${'03'.repeat(20)}`);
  const nodeAdmin = await member(node, NODE_ADMIN_WALLET);
  await node.node.access.grant(CUBE, objectAdmin.id, nodeAdmin.id);
  return {
    node,
    nodeId: node.node.nodeId,
    id: {
      none: '',
      guest: g.id,
      owner: owner.id,
      other: other.id,
      objectAdmin: objectAdmin.id,
      nodeAdmin: nodeAdmin.id,
    },
    token: {
      none: undefined,
      guest: g.token,
      owner: owner.token,
      other: other.token,
      objectAdmin: objectAdmin.token,
      nodeAdmin: nodeAdmin.token,
    },
  };
}

/** A REST call as a cast member. */
export function as<T = unknown>(
  cast: Cast,
  who: Who,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  return call<T>(cast.node, method, `/api/v4${path}`, { token: cast.token[who], body });
}

/** `?plugin_id=…&attribute_name=…[&sub_attribute_key=…]` */
export function q(name: string, subKey?: string, pluginId: string = CORE): string {
  const params = new URLSearchParams({ plugin_id: pluginId, attribute_name: name });
  if (subKey !== undefined) params.set('sub_attribute_key', subKey);
  return `?${params}`;
}
