/**
 * Content sniffing: what a file is, from its first bytes, never from its name or the client's
 * Content-Type. Each kind accepts a fixed set of formats; anything else is refused (415).
 */

export const ASSET_KINDS = ['model', 'texture', 'skybox', 'image'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

export type AssetFormat = 'glb' | 'gltf' | 'png' | 'jpeg' | 'webp' | 'gif' | 'ktx2' | 'hdr' | 'exr';

export const MIME: Record<AssetFormat, string> = {
  glb: 'model/gltf-binary',
  gltf: 'model/gltf+json',
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  ktx2: 'image/ktx2',
  hdr: 'image/vnd.radiance',
  exr: 'image/x-exr',
};

/** Formats each kind accepts. Skyboxes are equirectangular images, HDR or not. */
export const KIND_FORMATS: Record<AssetKind, readonly AssetFormat[]> = {
  model: ['glb', 'gltf'],
  texture: ['png', 'jpeg', 'webp', 'ktx2'],
  skybox: ['png', 'jpeg', 'webp', 'hdr', 'exr', 'ktx2'],
  image: ['png', 'jpeg', 'webp', 'gif'],
};

/** The kind an upload gets when the client names none. */
export const DEFAULT_KIND: Record<AssetFormat, AssetKind> = {
  glb: 'model',
  gltf: 'model',
  png: 'image',
  jpeg: 'image',
  webp: 'image',
  gif: 'image',
  ktx2: 'texture',
  hdr: 'skybox',
  exr: 'skybox',
};

/** Bytes needed to decide; a shorter file is sniffed as it is. */
export const SNIFF_BYTES = 64;

const starts = (b: Uint8Array, sig: readonly number[], at = 0) =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const KTX2 = [0xab, 0x4b, 0x54, 0x58, 0x20, 0x32, 0x30, 0xbb, 0x0d, 0x0a, 0x1a, 0x0a];
const EXR = [0x76, 0x2f, 0x31, 0x01];

/** The format of a file from its first bytes (at least SNIFF_BYTES of them unless the file is shorter). */
export function sniff(head: Uint8Array): AssetFormat | undefined {
  if (starts(head, ascii('glTF'))) return 'glb';
  if (starts(head, PNG)) return 'png';
  if (starts(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts(head, ascii('RIFF')) && starts(head, ascii('WEBP'), 8)) return 'webp';
  if (starts(head, ascii('GIF87a')) || starts(head, ascii('GIF89a'))) return 'gif';
  if (starts(head, KTX2)) return 'ktx2';
  if (starts(head, ascii('#?RADIANCE')) || starts(head, ascii('#?RGBE'))) return 'hdr';
  if (starts(head, EXR)) return 'exr';
  if (looksLikeGltfJson(head)) return 'gltf';
  return undefined;
}

/**
 * glTF JSON: a JSON object (optionally after a UTF-8 BOM and whitespace) whose first key is a glTF
 * top-level property. Exporters write `asset` first, but the spec allows any order, so any of the
 * spec's top-level keys is accepted; a plain `{` is not enough (that would let any JSON in).
 */
function looksLikeGltfJson(head: Uint8Array): boolean {
  let i = starts(head, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  const skip = () => {
    while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09))
      i++;
  };
  skip();
  if (head[i] !== 0x7b) return false;
  i++;
  skip();
  const rest = Buffer.from(head.subarray(i)).toString('latin1');
  return GLTF_KEY.test(rest);
}

const GLTF_KEY =
  /^"(asset|accessors|animations|buffers|bufferViews|cameras|extensions|extensionsUsed|extensionsRequired|extras|images|materials|meshes|nodes|samplers|scene|scenes|skins|textures)"\s*:/;

export const isAssetKind = (s: string): s is AssetKind => (ASSET_KINDS as readonly string[]).includes(s);
