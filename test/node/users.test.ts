import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/node.ts';

describe('user records', () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.cleanup();
  });

  it('never lose an answered profile edit to a concurrent last-seen update', async () => {
    node = await startNode();
    const { users } = node.node;
    const guest = await users.createGuest();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      writes.push(users.touch(guest.id, 1000 + i));
      writes.push(users.updateProfile(guest.id, { name: `Name ${i}`, profile: { bio: `bio ${i}` } }));
    }
    await Promise.all(writes);
    const stored = await users.get(guest.id);
    expect(stored?.name).toBe('Name 49');
    expect(stored?.profile?.bio).toBe('bio 49');
    expect(stored?.lastSeenAt).toBe(1049);
  });

  it('gives a wallet one user even when first sightings race', async () => {
    node = await startNode();
    const wallet = `0x${'ab'.repeat(20)}`;
    const results = await Promise.all(Array.from({ length: 10 }, () => node?.node.users.walletUser(wallet)));
    expect(new Set(results.map((r) => r?.user.id)).size).toBe(1);
    expect(results.filter((r) => r?.created)).toHaveLength(1);
  });
});
