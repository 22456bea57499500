/**
 * Joins and leaves per neighbourhood, with real WebSocket clients against a real node: a user that comes
 * into someone's view is added (AddUsers) before its first position reaches them, and removed
 * (RemoveUsers) after its last one; people far apart never hear of each other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { type Message, SignalType } from '../../protocol/posbus/index.ts';
import { eventually, joinWorld, sleep, startNode, type TestClient, type TestNode } from '../support/node.ts';

const CELL = 100;
const pose = (x: number, z: number) => ({ position: { x, y: 0, z }, rotation: { x: 0, y: 0, z: 0 } });
const cellOf = (v: number) => Math.floor(v / CELL);

/** What one client learnt about one other user, in the order it arrived. */
type Seen = { kind: 'add' } | { kind: 'remove' } | { kind: 'position'; x: number; z: number };

function historyOf(received: Message[], userId: string): Seen[] {
  const out: Seen[] = [];
  for (const m of received) {
    if (m.type === 'AddUsers' && m.users.some((u) => u.id === userId)) out.push({ kind: 'add' });
    if (m.type === 'RemoveUsers' && m.users.includes(userId)) out.push({ kind: 'remove' });
    if (m.type === 'UsersTransformList')
      for (const u of m.value)
        if (u.id === userId)
          out.push({ kind: 'position', x: u.transform.position.x, z: u.transform.position.z });
  }
  return out;
}

/**
 * Breaks of the rule in one client's history of another user: a position while that user is not added,
 * an add of a user already added, a remove of a user not added. Empty when the rule held.
 */
function ruleBreaks(history: Seen[]): string[] {
  const breaks: string[] = [];
  let added = false;
  for (const [i, seen] of history.entries()) {
    if (seen.kind === 'add') {
      if (added) breaks.push(`#${i}: added twice`);
      added = true;
    } else if (seen.kind === 'remove') {
      if (!added) breaks.push(`#${i}: removed while not added`);
      added = false;
    } else if (!added) {
      breaks.push(`#${i}: position (${seen.x}, ${seen.z}) while not added`);
    }
  }
  return breaks;
}

describe('joins and leaves per neighbourhood', () => {
  let node: TestNode;
  const clients: TestClient[] = [];
  beforeEach(async () => {
    node = await startNode({ tickMs: 20, interestCellSize: CELL });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node.cleanup();
  });

  const join = () => joinWorld(node, clients, DEFAULT_WORLD_ID);

  it('adds a walker before its first position and removes it after its last, as it crosses cells', async () => {
    const observer = await join();
    observer.client.send({ type: 'MyTransform', ...pose(10, 10) });
    // Three walkers cross the observer's view along different lines, at different speeds, at once.
    const walkers = await Promise.all([join(), join(), join()]);
    const lines = [
      { z: 10, step: 37 },
      { z: 150, step: 53 },
      { z: -60, step: 71 },
    ];
    for (const [i, w] of walkers.entries()) w.client.send({ type: 'MyTransform', ...pose(1200, lines[i].z) });
    await eventually(
      () =>
        walkers.every((w) =>
          historyOf(w.received, w.user.id).some((s) => s.kind === 'position' && s.x === 1200),
        ),
      5000,
      'the walkers at their start',
    );
    await sleep(60);
    // Out of view: told it left, or (if it left before a tick told the observer it came) never told at all.
    const before = new Map<string, number>();
    for (const w of walkers) {
      const history = historyOf(observer.received, w.user.id);
      expect(history.length === 0 || history.at(-1)?.kind === 'remove').toBe(true);
      before.set(w.user.id, history.length);
    }
    for (let x = 1200; x >= -1200; x -= 20) {
      for (const [i, w] of walkers.entries()) {
        const wx = Math.max(-1200, 1200 - ((1200 - x) / 20) * lines[i].step);
        w.client.send({ type: 'MyTransform', ...pose(wx, lines[i].z) });
      }
      await sleep(25);
    }
    await eventually(
      () => walkers.every((w) => historyOf(observer.received, w.user.id).at(-1)?.kind === 'remove'),
      5000,
      'the walkers out of view again',
    );
    for (const w of walkers) {
      const history = historyOf(observer.received, w.user.id);
      expect(ruleBreaks(history)).toEqual([]);
      // Each came into view on its walk and left it again.
      const walk = history.slice(before.get(w.user.id));
      expect(walk[0]?.kind).toBe('add');
      expect(walk.at(-1)?.kind).toBe('remove');
      const positions = history.filter((s) => s.kind === 'position');
      expect(positions.length).toBeGreaterThan(0);
      // Every position the observer got lies in its neighbourhood.
      for (const p of positions) {
        expect(Math.abs(cellOf(p.x) - cellOf(10))).toBeLessThanOrEqual(1);
        expect(Math.abs(cellOf(p.z) - cellOf(10))).toBeLessThanOrEqual(1);
      }
      // And the walker's view of the observer kept the same rule.
      expect(ruleBreaks(historyOf(w.received, observer.user.id))).toEqual([]);
    }
    // The walkers see each other while their lines are near: the rule holds between movers too.
    for (const a of walkers)
      for (const b of walkers) if (a !== b) expect(ruleBreaks(historyOf(a.received, b.user.id))).toEqual([]);
  });

  it('never tells people far apart of each other, and tells the neighbourhood of joins and leaves', async () => {
    const far = await join();
    far.client.send({ type: 'MyTransform', ...pose(3000, 3000) });
    await eventually(
      () => historyOf(far.received, far.user.id).some((s) => s.kind === 'position' && s.x === 3000),
      5000,
      'far at its place',
    );
    // Out of the world and back: it enters at its saved position, far from the spawn point.
    far.client.send({ type: 'Signal', value: SignalType.LeaveWorld });
    await sleep(100);
    const here = await join();
    const near = await join();
    await far.client.teleport(DEFAULT_WORLD_ID);
    near.client.send({ type: 'MyTransform', ...pose(30, 40) });
    here.client.send({ type: 'MyTransform', ...pose(10, 10) });
    far.client.send({ type: 'MyTransform', ...pose(3010, 3000) });
    await eventually(
      () => historyOf(here.received, near.user.id).some((s) => s.kind === 'position' && s.x === 30),
      5000,
      'here sees near move',
    );
    await eventually(
      () => historyOf(far.received, far.user.id).some((s) => s.kind === 'position' && s.x === 3010),
      5000,
      'far sees its own move',
    );
    // near leaves: here is told, far never is.
    await near.client.close();
    await eventually(
      () => historyOf(here.received, near.user.id).at(-1)?.kind === 'remove',
      5000,
      'here told near left',
    );
    await sleep(100);
    expect(historyOf(far.received, here.user.id)).toEqual([]);
    expect(historyOf(far.received, near.user.id)).toEqual([]);
    expect(historyOf(here.received, far.user.id)).toEqual([]);
    expect(historyOf(near.received, far.user.id)).toEqual([]);
    expect(ruleBreaks(historyOf(here.received, near.user.id))).toEqual([]);
  });
});
