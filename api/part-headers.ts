/**
 * The header side of multipart/form-data (RFC 7578, RFC 2046): the boundary named by the request's
 * Content-Type, and a part's header block (Content-Disposition's name and filename, the part's
 * Content-Type). Pure: strings and bytes in, values or a DomainError out.
 */
import { invalid } from '../common/errors.ts';

/** What a part's headers say about it. */
export interface PartHeaders {
  /** The form field's name (`name=` of Content-Disposition). */
  name: string;
  /** The client's file name, without folders; present on file parts. */
  filename?: string;
  /** The part's media type (`type/subtype`, lower case), when it names one. */
  contentType?: string;
}

/**
 * RFC 2046's boundary characters, plus the token characters some clients use: 1–70 of them, not
 * ending in a space. Anything else is not a boundary a client meant.
 */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? !#$%&*^`|~]{0,69}[0-9A-Za-z'()+_,\-./:=?!#$%&*^`|~]$/;

/** Characters of an RFC 9110 token (header and parameter names, unquoted values). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const malformedHeader = (why: string) => invalid('malformed_multipart', `bad multipart body: ${why}`);

/** The boundary of a `multipart/form-data` Content-Type; a 400 when it is missing or not a boundary. */
export function boundaryOf(contentType: string): string {
  const params = parseParams(contentType, contentType.indexOf(';'));
  if (!params) throw invalid('invalid_request', 'the multipart content type has malformed parameters');
  const boundary = params.get('boundary');
  if (boundary === undefined)
    throw invalid('invalid_request', 'the multipart content type names no boundary');
  if (!BOUNDARY.test(boundary)) {
    throw invalid('invalid_request', 'the multipart boundary must be 1 to 70 boundary characters');
  }
  return boundary;
}

/**
 * `;`-separated `name=value` parameters from `start` (the first `;`, or -1 for none) to the end, names
 * lower-cased, values unquoted; undefined when they do not parse. The first of a repeated name wins.
 */
function parseParams(text: string, start: number): Map<string, string> | undefined {
  const params = new Map<string, string>();
  if (start < 0) return params;
  let at = start;
  while (at < text.length) {
    if (text[at] !== ';') return undefined;
    at = skipSpace(text, at + 1);
    if (at === text.length) break; // a trailing `;` is harmless
    const eq = text.indexOf('=', at);
    if (eq < 0) return undefined;
    const name = text.slice(at, eq).trimEnd().toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    at = skipSpace(text, eq + 1);
    let value: string;
    if (text[at] === '"') {
      const quoted = readQuoted(text, at);
      if (!quoted) return undefined;
      [value, at] = quoted;
    } else {
      const end = text.indexOf(';', at);
      const stop = end < 0 ? text.length : end;
      value = text.slice(at, stop).trimEnd();
      // Unquoted values are tokens, but clients put file names unquoted too: take anything but `"`.
      if (value === '' || value.includes('"')) return undefined;
      at = stop;
    }
    if (!params.has(name)) params.set(name, value);
    at = skipSpace(text, at);
  }
  return params;
}

function skipSpace(text: string, at: number): number {
  while (text[at] === ' ' || text[at] === '\t') at++;
  return at;
}

/** A quoted-string starting at `at` (the opening quote): its value and where it ends. */
function readQuoted(text: string, at: number): [string, number] | undefined {
  let value = '';
  for (let i = at + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return [value, i + 1];
    // `\"` and `\\` are escapes; any other backslash is itself (clients send Windows paths unescaped).
    const escaped = text[i + 1];
    if (c === '\\' && (escaped === '"' || escaped === '\\')) {
      value += escaped;
      i++;
    } else value += c;
  }
  return undefined;
}

/** RFC 8187's `charset'language'percent-encoded` (`filename*`); undefined for charsets we do not read. */
function decodeExtValue(value: string): string | undefined {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match) return undefined;
  const charset = (match[1] ?? '').toLowerCase();
  const encoded = match[2] ?? '';
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') return undefined;
  try {
    if (charset === 'utf-8') return decodeURIComponent(encoded);
    return encoded.replace(/%([0-9a-f]{2})/gi, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  } catch {
    return undefined;
  }
}

/** A file name as display text: what follows the last folder separator of either kind. */
const baseName = (path: string) => path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);

/**
 * A part's header block (the bytes between the boundary line and the empty line, without that empty
 * line's CRLF pair), read as UTF-8 as browsers send file names. Every part must say it is `form-data`
 * and name its field (RFC 7578 §4.2); other headers are ignored.
 */
export function parsePartHeaders(block: Buffer): PartHeaders {
  let disposition: string | undefined;
  let contentType: string | undefined;
  const text = block.toString('utf8');
  for (const line of text === '' ? [] : text.split('\r\n')) {
    if (line.includes('\r') || line.includes('\n'))
      throw malformedHeader('a part header has a bare line break');
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    if (!TOKEN.test(name)) throw malformedHeader('malformed part header');
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition ??= value;
    else if (name === 'content-type') contentType ??= value;
  }
  if (disposition === undefined) throw malformedHeader('a part has no Content-Disposition');
  const semicolon = disposition.indexOf(';');
  const type = (semicolon < 0 ? disposition : disposition.slice(0, semicolon)).trim().toLowerCase();
  if (type !== 'form-data') throw malformedHeader('a part is not form-data');
  const params = parseParams(disposition, semicolon);
  if (!params) throw malformedHeader('malformed Content-Disposition parameters');
  const name = params.get('name');
  if (name === undefined) throw malformedHeader('a part has no field name');
  const extended = params.get('filename*');
  const plain = params.get('filename');
  // An undecodable `filename*` still makes the part a file.
  const filename = extended !== undefined ? (decodeExtValue(extended) ?? plain ?? '') : plain;
  const headers: PartHeaders = { name };
  if (filename !== undefined) headers.filename = baseName(filename);
  const media = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (media && /^[^/\s]+\/[^/\s]+$/.test(media)) headers.contentType = media;
  return headers;
}
