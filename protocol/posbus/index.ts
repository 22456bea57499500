export { decode, encode, frameTypeId, TYPE_IDS, typeNameOf } from './codec.ts';
export {
  CompactDecoder,
  CompactEncoder,
  type FlatPose,
  flatPose,
  isCompactTransforms,
  MAX_SHORT_IDS,
  POSITION_STEP,
  quantise,
  ROTATION_STEP,
  walkUsersTransformList,
} from './compact.ts';
export { PosbusDecodeError, type PosbusDecodeReason, PosbusEncodeError } from './errors.ts';
export * from './ext.ts';
export { joinUsersTransformLists } from './join.ts';
export * from './types.ts';
export { fromHex, isUmid, NIL_UMID, toHex } from './umid.ts';
