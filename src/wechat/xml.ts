// Flat WeChat v2 XML documents: parse (strings only, no DTD, bounded) and build. Never expands entities beyond XML's own five and character references.
import { XMLParser, XMLValidator, type EntityDecoderOptions } from "fast-xml-parser";
import type { Fields } from "./sign";

/** Bounds applied before and during parsing. */
export interface XmlLimits {
  /** Largest accepted document, in UTF-8 bytes. */
  maxBytes: number;
  /** Most fields (child elements of the root) accepted. */
  maxFields: number;
}

/** Generous for every v2 message (the largest, orderquery with coupons, is a few KiB) yet cheap to parse. */
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({ maxBytes: 64 * 1024, maxFields: 100 });

/** Why a document was refused. */
export type XmlErrorReason = "too_large" | "dtd" | "malformed" | "too_many_fields" | "not_flat" | "wrong_root";

const MESSAGES: Readonly<Record<XmlErrorReason, string>> = {
  too_large: "XML document is too large",
  dtd: "XML document contains a DOCTYPE or ENTITY declaration",
  malformed: "XML document is malformed",
  too_many_fields: "XML document has too many fields",
  not_flat: "XML document is not a flat list of fields",
  wrong_root: "XML document has an unexpected root element",
};

/** A refused document. The message names the rule that failed and never quotes the document. */
export class XmlError extends Error {
  readonly reason: XmlErrorReason;

  constructor(reason: XmlErrorReason) {
    super(MESSAGES[reason]);
    this.name = "XmlError";
    this.reason = reason;
  }
}

// Entities are decoded below (decodeReferences), never by the library: with processEntities off it
// calls only reset() on its decoder, but without one of ours it builds a new decoder, with its
// tables, for every document (a fifth of a notification's parse inside workerd).
const NO_ENTITIES: EntityDecoderOptions = {
  setExternalEntities() {},
  addInputEntities() {
    throw new XmlError("dtd");
  },
  reset() {},
  setXmlVersion() {},
  decode: (text) => text,
};

// Everything that decides a value is done here, not by the library: no number parsing, no trimming, no entities
// (decoded below with a closed list), CDATA kept apart so its content is taken verbatim.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  entityDecoder: NO_ENTITIES,
  cdataPropName: "#cdata",
  commentPropName: "#comment",
  ignoreDeclaration: true,
  ignorePiTags: true,
  // No callback here needs the tag's path: don't build its string for every element.
  jPath: false,
});

const TEXT = "#text";
const CDATA = "#cdata";
const COMMENT = "#comment";

/** One node of fast-xml-parser's preserveOrder output: `{ name: children }`, plus ":@" for attributes. */
type OrderedNode = Record<string, unknown>;

/**
 * Parses a flat WeChat document <root><k>v</k>…</root>. Every value stays a string (no number coercion, leading
 * zeros kept, CDATA or bare, CDATA "0" stays "0", whitespace inside values kept as sent), a DOCTYPE or ENTITY
 * anywhere is refused before parsing, nested elements refused, duplicate names refused. `root` defaults to "xml"
 * ("root" is used by the decrypted refund req_info).
 *
 * An empty element (`<k/>`, `<k></k>`, `<k><![CDATA[]]></k>`) gives "". Whitespace-only text beside a CDATA
 * section is layout, not value, and is dropped (pretty-printed documents stay signable).
 */
export function parseXml(text: string, options?: { root?: string; limits?: Partial<XmlLimits> }): Fields {
  const root = options?.root ?? "xml";
  const limits = { ...DEFAULT_XML_LIMITS, ...options?.limits };
  if (utf8LengthExceeds(text, limits.maxBytes)) throw new XmlError("too_large");
  // Refused outright, not merely left unexpanded: no WeChat message has a DTD (XXE, billion laughs).
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) throw new XmlError("dtd");
  if (XMLValidator.validate(text) !== true) throw new XmlError("malformed");

  let document: unknown;
  try {
    document = parser.parse(text);
  } catch {
    // e.g. the library refuses element names such as __proto__ or constructor.
    throw new XmlError("malformed");
  }
  const top = nodes(document).filter((node) => !isLayout(node));
  const rootNode = top[0];
  if (top.length !== 1 || rootNode === undefined) throw new XmlError("malformed");
  if (nameOf(rootNode) !== root) throw new XmlError("wrong_root");

  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const node of nodes(rootNode[root])) {
    const name = nameOf(node);
    if (name === COMMENT) continue;
    if (name === TEXT) {
      if (isWhitespace(textOf(node))) continue;
      throw new XmlError("not_flat");
    }
    if (name === CDATA) throw new XmlError("not_flat");
    if (seen.has(name)) throw new XmlError("malformed");
    seen.add(name);
    if (seen.size > limits.maxFields) throw new XmlError("too_many_fields");
    entries.push([name, valueOf(nodes(node[name]))]);
  }
  // fromEntries defines own properties, so a field named like an Object.prototype member cannot pollute anything.
  return Object.fromEntries(entries);
}

/** The value of one field: its text and CDATA children joined, refusing child elements. */
function valueOf(children: OrderedNode[]): string {
  const parts = children.filter((node) => nameOf(node) !== COMMENT);
  const hasCdata = parts.some((node) => nameOf(node) === CDATA);
  let value = "";
  for (const part of parts) {
    const name = nameOf(part);
    if (name === TEXT) {
      const raw = textOf(part);
      if (hasCdata && isWhitespace(raw)) continue;
      value += decodeReferences(raw);
    } else if (name === CDATA) {
      value += nodes(part[CDATA]).map(textOf).join("");
    } else {
      throw new XmlError("not_flat");
    }
  }
  return value;
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes XML's five predefined entities and character references; anything else starting with & is refused. */
function decodeReferences(raw: string): string {
  if (!raw.includes("&")) return raw;
  return raw.replace(/&(?:#x([0-9A-Fa-f]{1,6})|#([0-9]{1,7})|([A-Za-z]+))?(;?)/g, (_match, hex, dec, name, semicolon) => {
    if (semicolon !== ";") throw new XmlError("malformed");
    if (typeof name === "string") {
      const replacement = PREDEFINED[name];
      if (replacement === undefined) throw new XmlError("malformed");
      return replacement;
    }
    const codePoint = typeof hex === "string" ? parseInt(hex, 16) : parseInt(String(dec), 10);
    if (!isXmlChar(codePoint)) throw new XmlError("malformed");
    return String.fromCodePoint(codePoint);
  });
}

/** The characters XML 1.0 allows in a document. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function nodes(value: unknown): OrderedNode[] {
  if (!Array.isArray(value)) throw new XmlError("malformed");
  return value.filter((item): item is OrderedNode => typeof item === "object" && item !== null);
}

function nameOf(node: OrderedNode): string {
  const name = Object.keys(node).find((key) => key !== ":@");
  if (name === undefined) throw new XmlError("malformed");
  return name;
}

function textOf(node: OrderedNode): string {
  const text = node[TEXT];
  return typeof text === "string" ? text : String(text ?? "");
}

/** Whitespace text and comments outside the root element. */
function isLayout(node: OrderedNode): boolean {
  const name = nameOf(node);
  return name === COMMENT || (name === TEXT && isWhitespace(textOf(node)));
}

function isWhitespace(text: string): boolean {
  return /^[ \t\r\n]*$/.test(text);
}

/** Whether `text` is longer than `maxBytes` in UTF-8, without encoding it when the answer is clear from its length. */
function utf8LengthExceeds(text: string, maxBytes: number): boolean {
  // A UTF-16 code unit takes 1 to 3 UTF-8 bytes (a surrogate pair, two units, takes 4).
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  return new TextEncoder().encode(text).byteLength > maxBytes;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Characters XML 1.0 cannot carry at all, even in CDATA (controls, lone surrogates, U+FFFE/U+FFFF).
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Whether `value` is text XML 1.0 can carry, so that buildXml accepts it: check free text at the edge with this. */
export function isXmlText(value: string): boolean {
  return !NOT_XML_CHAR.test(value);
}

/**
 * Builds <xml>…</xml> with no declaration; values in CDATA (split "]]>" safely, CR written as &#13;), names validated as
 * [A-Za-z_][A-Za-z0-9_]* (an XML name cannot start with a digit). Throws TypeError for a bad name or a value XML
 * cannot carry; the message names the field, never the value.
 */
export function buildXml(fields: Readonly<Record<string, string>>): string {
  let xml = "<xml>";
  for (const [name, value] of Object.entries(fields)) {
    if (!NAME.test(name)) throw new TypeError("XML field name must match [A-Za-z_][A-Za-z0-9_]*");
    if (typeof value !== "string") throw new TypeError(`XML field ${name} must be a string`);
    if (!isXmlText(value)) throw new TypeError(`XML field ${name} contains a character XML cannot carry`);
    xml += `<${name}>${characterData(value)}</${name}>`;
  }
  return `${xml}</xml>`;
}

/** A value as CDATA that every XML parser reads back exactly. */
function characterData(value: string): string {
  // "]]>" would end the section early: close it after "]]" and reopen it for ">".
  const section = (text: string) => `<![CDATA[${text.split("]]>").join("]]]]><![CDATA[>")}]]>`;
  // Parsers turn a literal CR (even in CDATA) into LF, which would change a signed value; a reference survives.
  return value.includes("\r") ? value.split("\r").map(section).join("&#13;") : section(value);
}
