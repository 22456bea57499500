/**
 * What a PosBus session does with each message from its client once the handshake passed: hands it to
 * the world and user controllers. Refusals are counted by the session (`bad`), controller failures are
 * logged (`guard`) and end nothing else.
 */
import type { Logger } from 'pino';
import {
  encode,
  type Message,
  NotificationType,
  SignalType,
  TELEPORT_PACING_NOTICE,
} from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import type { Member } from '../world/room.ts';
import type { SessionServices } from './session-components.ts';

/** The session as dispatch sees it (session.ts builds it once). */
export interface MessageContext {
  readonly member: Member;
  readonly components: SessionServices;
  user(): UserRecord;
  logger(): Logger;
  /** Counts a refused frame (unless `counts` is false); past the session's limit it closes. */
  bad(reason: string, code?: number, counts?: boolean): void;
  guard(work: Promise<void>): Promise<void>;
  /** Takes one of the session's teleports (`--teleports-per-minute`); false when none is left now. */
  mayTeleport(): boolean;
}

/** Handles one message; returns a promise only for work later messages must wait for. */
export function dispatchMessage(s: MessageContext, message: Message): Promise<void> | undefined {
  const { worlds, userController } = s.components;
  const member = s.member;
  switch (message.type) {
    case 'MyTransform':
      if (!userController.move(member, message))
        s.bad('position rejected (not in a world, not finite or out of bounds)');
      return undefined;
    case 'TeleportRequest':
      // Each teleport re-sends the world to its client and re-announces the user to everyone in view of
      // both places: a client teleporting in a loop would cost the node and its neighbours dearly. Every
      // request still gets its one answer (SPEC §6.2: clients match answers to requests in order): a
      // refused one the "no such world" signal, after a notice that says why.
      if (!s.mayTeleport()) {
        member.sendReliable(
          encode({
            type: 'Notification',
            notifyType: NotificationType.TextMessage,
            value: TELEPORT_PACING_NOTICE,
          }),
        );
        member.sendReliable(encode({ type: 'Signal', value: SignalType.WorldDoesNotExist }));
        // Not counted against the session: the limit already bounds what refusals cost (two small frames
        // each), and an honest user clicking through worlds must never be closed for it.
        s.bad('teleport rate limit exceeded', undefined, false);
        return undefined;
      }
      return s.guard(worlds.teleport(member, message.target).then(() => {}));
    case 'Signal':
      if (message.value === SignalType.LeaveWorld) return s.guard(worlds.leave(s.user().id));
      return undefined;
    case 'LockObject':
      worlds.lock(member, message.id);
      return undefined;
    case 'UnlockObject':
      worlds.unlock(member, message.id);
      return undefined;
    case 'ObjectTransform':
      // Not awaited by later messages: the world store already orders writes per world, and a drag
      // must not hold up the user's own movement behind a LevelDB write.
      void s.guard(
        worlds.moveObject(member, message.id, message.transform).then((moved) => {
          if (!moved) s.bad('object transform refused (no lock or invalid transform)', undefined, false);
        }),
      );
      return undefined;
    case 'HighFive':
      userController.highFive(member, message);
      return undefined;
    case 'UserStakedToOdyssey': {
      // Validated by the stake controller (the original crashed on hashes or wallets under 2 chars).
      s.logger().info(
        { tx: message.transactionHash, objectId: message.objectId },
        'stake reported by client',
      );
      const stakes = s.components.stakes;
      if (!stakes) return undefined;
      const report = {
        transactionId: message.transactionHash,
        odysseyId: message.objectId,
        wallet: message.wallet,
        amount: message.amount,
        comment: message.comment,
        kind: message.kind,
      };
      void stakes.report(s.user(), report).then(
        () => {},
        (error: Error) => s.bad(`stake report refused: ${error.message}`, undefined, false),
      );
      return undefined;
    }
    default:
      s.bad(`unexpected message ${message.type}`);
      return undefined;
  }
}
