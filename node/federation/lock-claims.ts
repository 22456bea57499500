/**
 * Lock claims known here, of people on any node (people.ts): per world and object, the claim that wins
 * (the earliest stamp), and how many each person holds, so that one person's claims stay bounded.
 */

export interface LockClaim {
  userId: string;
  stamp: string;
}

export class LockClaims {
  /** worldId!objectId → the winning claim known here */
  private readonly claims = new Map<string, LockClaim>();
  /** userId → how many of `claims` are theirs */
  private readonly claimsOf = new Map<string, number>();

  get(worldId: string, objectId: string): LockClaim | undefined {
    return this.claims.get(key(worldId, objectId));
  }

  countOf(userId: string): number {
    return this.claimsOf.get(userId) ?? 0;
  }

  set(worldId: string, objectId: string, claim: LockClaim): void {
    const k = key(worldId, objectId);
    const before = this.claims.get(k);
    if (before) this.count(before.userId, -1);
    this.claims.set(k, claim);
    this.count(claim.userId, 1);
  }

  delete(worldId: string, objectId: string): void {
    this.deleteKey(key(worldId, objectId));
  }

  /** Every claim of the person in the world: they left it. */
  dropPerson(worldId: string, userId: string): void {
    const prefix = `${worldId}!`;
    for (const [k, claim] of this.claims) {
      if (k.startsWith(prefix) && claim.userId === userId) this.deleteKey(k);
    }
  }

  private deleteKey(k: string): void {
    const before = this.claims.get(k);
    if (!before) return;
    this.claims.delete(k);
    this.count(before.userId, -1);
  }

  private count(userId: string, by: number): void {
    const n = this.countOf(userId) + by;
    if (n > 0) this.claimsOf.set(userId, n);
    else this.claimsOf.delete(userId);
  }
}

const key = (worldId: string, objectId: string) => `${worldId}!${objectId}`;
