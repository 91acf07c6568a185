// WeChat's flat `<xml><name>value</name>…</xml>` format: reading (CDATA or bare values, all kept as
// strings, no DTD) and writing (CDATA for strings, bare integers, no XML declaration).
import { XMLParser, XMLValidator } from "fast-xml-parser";

export type XmlFields = Record<string, string>;

export type XmlParseResult =
  | { ok: true; fields: XmlFields }
  | { ok: false; reason: string };

const CDATA = "#cdata";

const parser = new XMLParser({
  // Every value stays a string: "007" and "1.0" must reach the signature unchanged.
  parseTagValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  // Entities are decoded by `decodeText` below, only in bare text and never inside CDATA.
  processEntities: false,
  cdataPropName: CDATA,
});

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeText(text: string): string | null {
  let failed = false;
  const decoded = text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code = name[1] === "x" ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      if (code > 0x10ffff) {
        failed = true;
        return whole;
      }
      return String.fromCodePoint(code);
    }
    const value = NAMED_ENTITIES[name];
    if (value === undefined) failed = true;
    return value ?? whole;
  });
  return failed ? null : decoded;
}

/** One child element's value, or null when it is not a flat text/CDATA leaf. */
function leafValue(node: unknown): string | null {
  if (typeof node === "string") return decodeText(node);
  if (typeof node !== "object" || node === null || Array.isArray(node)) return null;
  const keys = Object.keys(node);
  // Text next to CDATA would lose its order in the parsed tree, and nested tags are not WeChat XML.
  if (keys.length !== 1 || keys[0] !== CDATA) return null;
  const cdata = (node as Record<string, unknown>)[CDATA];
  if (typeof cdata === "string") return cdata;
  if (Array.isArray(cdata) && cdata.every((part) => typeof part === "string")) return cdata.join("");
  return null;
}

/**
 * Parses a WeChat XML document. Refuses any DTD (XXE, CVE-2018-13439), a root other than
 * `<xml>` (or `root`: `"root"` for a decrypted refund req_info), nested or repeated elements, and
 * malformed markup.
 */
export function parseWeChatXml(text: string, root: "xml" | "root" = "xml"): XmlParseResult {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return { ok: false, reason: "DTD is not allowed" };
  if (XMLValidator.validate(text) !== true) return { ok: false, reason: "malformed XML" };
  let tree: unknown;
  try {
    tree = parser.parse(text);
  } catch {
    // fast-xml-parser throws on names such as __proto__.
    return { ok: false, reason: "malformed XML" };
  }
  if (typeof tree !== "object" || tree === null) return { ok: false, reason: "malformed XML" };
  const roots = Object.keys(tree);
  if (roots.length !== 1 || roots[0] !== root) return { ok: false, reason: `root element must be <${root}>` };
  const top = (tree as Record<string, unknown>)[root];
  const fields: XmlFields = {};
  if (top === "") return { ok: true, fields };
  if (typeof top !== "object" || top === null || Array.isArray(top)) {
    return { ok: false, reason: `<${root}> must contain elements` };
  }
  for (const [name, node] of Object.entries(top)) {
    if (name === "#text" || name === CDATA) return { ok: false, reason: `text directly inside <${root}>` };
    const value = leafValue(node);
    if (value === null) return { ok: false, reason: `element <${name}> is not a single text value` };
    fields[name] = value;
  }
  return { ok: true, fields };
}

/** Fields WeChat types as Int and writes bare (`<total_fee>1</total_fee>`); all others get CDATA. */
const INTEGER_FIELDS = new Set([
  "total_fee",
  "cash_fee",
  "settlement_total_fee",
  "coupon_fee",
  "coupon_count",
  "refund_fee",
]);

function cdata(value: string): string {
  // "]]>" cannot appear inside one CDATA section; split it across two.
  return `<![CDATA[${value.replaceAll("]]>", "]]]]><![CDATA[>")}]]>`;
}

/**
 * The plaintext of a refund notification's req_info, shaped like the real one: root `<root>`, one
 * field per line, every value in CDATA (integers too).
 */
export function buildRefundInfoXml(fields: Readonly<XmlFields>): string {
  const lines = Object.entries(fields).map(([name, value]) => `<${name}>${cdata(value)}</${name}>`);
  return ["<root>", ...lines, "</root>"].join("\n");
}

/** Serialises fields in their insertion order, as WeChat does: no declaration, no whitespace. */
export function buildWeChatXml(fields: Readonly<XmlFields>): string {
  let xml = "<xml>";
  for (const [name, value] of Object.entries(fields)) {
    const body = INTEGER_FIELDS.has(name) && /^-?\d+$/.test(value) ? value : cdata(value);
    xml += `<${name}>${body}</${name}>`;
  }
  return `${xml}</xml>`;
}
