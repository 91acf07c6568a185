// Just enough X.509 DER reading for the simulator to describe its platform certificate the way
// /v3/certificates does: the serial (upper-case hex) and the validity (notBefore, notAfter), so
// that they can never disagree with the certificate it serves.

interface Tlv {
  tag: number;
  /** where the value starts and ends in the DER bytes */
  start: number;
  end: number;
}

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new Error("the certificate DER is truncated");
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error("the certificate DER has an unsupported length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] ?? 0);
    start += count;
  }
  if (start + length > der.byteLength) throw new Error("the certificate DER is truncated");
  return { tag, start, end: start + length };
}

function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = readTlv(der, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** UTCTime (YYMMDDHHMMSSZ, 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ) as epoch ms. */
function readTime(der: Uint8Array, tlv: Tlv): number {
  const text = new TextDecoder().decode(der.subarray(tlv.start, tlv.end));
  const match = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) throw new Error("the certificate has a validity time this reader does not know");
  let year = Number(match[1]);
  if (match[1]!.length === 2) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]));
}

export interface CertificateFacts {
  /** upper-case hex without leading zeros, as Wechatpay-Serial and serial_no write it */
  serialNo: string;
  notBefore: number;
  notAfter: number;
}

/** Serial and validity of a DER X.509 certificate. */
export function readCertificate(der: Uint8Array): CertificateFacts {
  const certificate = readTlv(der, 0);
  const tbs = childrenOf(der, certificate)[0];
  if (tbs === undefined) throw new Error("the certificate has no tbsCertificate");
  const fields = childrenOf(der, tbs);
  // version is [0] EXPLICIT and absent in v1 certificates
  const [serial, , , validity] = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  if (serial?.tag !== 0x02 || validity?.tag !== 0x30) throw new Error("the certificate has an unexpected layout");
  const [notBefore, notAfter] = childrenOf(der, validity);
  if (notBefore === undefined || notAfter === undefined) throw new Error("the certificate has no validity");
  const hex = [...der.subarray(serial.start, serial.end)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { serialNo: hex.toUpperCase().replace(/^0+(?=.)/, ""), notBefore: readTime(der, notBefore), notAfter: readTime(der, notAfter) };
}
