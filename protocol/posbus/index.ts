export { decode, encode, frameTypeId, TYPE_IDS, typeNameOf } from './codec.ts';
export { PosbusDecodeError, type PosbusDecodeReason, PosbusEncodeError } from './errors.ts';
export { joinUsersTransformLists } from './join.ts';
export * from './types.ts';
export { fromHex, isUmid, NIL_UMID, toHex } from './umid.ts';
