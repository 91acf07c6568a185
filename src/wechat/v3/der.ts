// The little DER (ASN.1) this layer needs, and no more: walking the TLVs of PEM-encoded keys and
// certificates to wrap a PKCS#1 key for Web Crypto, and to read a certificate's serial, validity and
// public key. A reader of our own inputs (the merchant's and WeChat's keys), never of a payment
// message; anything it does not expect is refused with a message that quotes no bytes.

/** One DER element: its tag, and where its contents lie in the buffer it was read from. */
export interface Tlv {
  readonly tag: number;
  /** offset of the tag byte: the element as a whole is [offset, end) */
  readonly offset: number;
  /** offset of the first content byte */
  readonly start: number;
  /** offset just past the last content byte */
  readonly end: number;
}

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  /** [0] EXPLICIT, as a certificate's version */
  CONTEXT_0: 0xa0,
} as const;

/** The element at `offset` (single-byte tags and definite lengths only, as DER requires). */
export function readTlv(der: Uint8Array, offset: number, end: number = der.byteLength): Tlv {
  if (offset + 2 > end) throw new DerError("DER element is truncated");
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("DER multi-byte tags are not supported");
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError("DER length is indefinite or too large");
    if (start + count > end) throw new DerError("DER length is truncated");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  if (start + length > end) throw new DerError("DER element runs past its container");
  return { tag, offset, start, end: start + length };
}

/** The elements directly inside a constructed element (a SEQUENCE, say). */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = readTlv(der, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** Reads the one top-level element of `der`, which must fill it exactly. */
export function root(der: Uint8Array, tag: number): Tlv {
  const tlv = readTlv(der, 0);
  if (tlv.tag !== tag || tlv.end !== der.byteLength) throw new DerError("DER document is not a single element of the expected type");
  return tlv;
}

/** `tag` + DER length + `contents`. */
export function encodeTlv(tag: number, contents: Uint8Array): Uint8Array {
  const n = contents.byteLength;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + length.length + n);
  out[0] = tag;
  out.set(length, 1);
  out.set(contents, 1 + length.length);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** AlgorithmIdentifier for rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
export const RSA_ENCRYPTION = new Uint8Array([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);

/** UTCTime (YYMMDDHHMMSSZ, 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ) → ms since the epoch. */
export function readTime(der: Uint8Array, tlv: Tlv): number {
  const text = new TextDecoder().decode(der.subarray(tlv.start, tlv.end));
  const match = tlv.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null || (tlv.tag !== TAG.UTC_TIME && tlv.tag !== TAG.GENERALIZED_TIME)) throw new DerError("certificate time is not a UTC time DER allows");
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const year = tlv.tag === TAG.UTC_TIME ? (y < 50 ? 2000 + y : 1900 + y) : y;
  return Date.UTC(year, mo - 1, d, h, mi, s);
}
