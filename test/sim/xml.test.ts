// WeChat XML: what the simulator accepts from merchants and how it writes its own replies.
import { describe, expect, it } from "vitest";
import { buildWeChatXml, parseWeChatXml } from "../../sim/src/xml";

describe("parseWeChatXml", () => {
  it("reads CDATA and bare values alike, keeping every value a string", () => {
    const result = parseWeChatXml(
      "<xml>\n  <appid><![CDATA[wx1]]></appid>\n  <total_fee>007</total_fee>\n  <rate>1.0</rate>\n  <empty><![CDATA[]]></empty><bare></bare><short/>\n</xml>",
    );
    expect(result).toEqual({
      ok: true,
      fields: { appid: "wx1", total_fee: "007", rate: "1.0", empty: "", bare: "", short: "" },
    });
  });

  it("keeps CDATA content verbatim, including spaces and entity-like text", () => {
    expect(parseWeChatXml("<xml><a><![CDATA[ x &amp; <y> ]]></a></xml>")).toEqual({ ok: true, fields: { a: " x &amp; <y> " } });
  });

  it("decodes entities in bare text", () => {
    expect(parseWeChatXml("<xml><a>x &amp; y &lt; &#20013;&#x6587;</a></xml>")).toEqual({ ok: true, fields: { a: "x & y < 中文" } });
  });

  it("accepts an XML declaration", () => {
    expect(parseWeChatXml('<?xml version="1.0" encoding="UTF-8"?><xml><a>1</a></xml>').ok).toBe(true);
  });

  it.each([
    ["a DOCTYPE", '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><a>&x;</a></xml>'],
    ["an ENTITY alone", '<!ENTITY x "y"><xml><a>1</a></xml>'],
    ["an unknown entity", "<xml><a>&x;</a></xml>"],
    ["unclosed markup", "<xml><a>1</a>"],
    ["another root", "<root><a>1</a></root>"],
    ["two roots", "<xml><a>1</a></xml><xml/>"],
    ["nested elements", "<xml><a><b>1</b></a></xml>"],
    ["repeated elements", "<xml><a>1</a><a>2</a></xml>"],
    ["text beside elements", "<xml>text<a>1</a></xml>"],
    ["JSON", '{"appid":"wx1"}'],
    ["a prototype-polluting name", "<xml><__proto__>1</__proto__></xml>"],
  ])("refuses %s", (_, text) => {
    expect(parseWeChatXml(text).ok).toBe(false);
  });
});

describe("buildWeChatXml", () => {
  it("writes strings as CDATA, Int fields bare, in insertion order, with no declaration", () => {
    expect(buildWeChatXml({ return_code: "SUCCESS", total_fee: "1", transaction_id: "4200", time_end: "20260520100000" })).toBe(
      "<xml><return_code><![CDATA[SUCCESS]]></return_code><total_fee>1</total_fee>" +
        "<transaction_id><![CDATA[4200]]></transaction_id><time_end><![CDATA[20260520100000]]></time_end></xml>",
    );
  });

  it("writes an empty string as an empty CDATA section, like real NOTPAY device_info", () => {
    expect(buildWeChatXml({ device_info: "" })).toBe("<xml><device_info><![CDATA[]]></device_info></xml>");
  });

  it("round-trips values containing markup and the CDATA terminator", () => {
    const fields = { attach: 'a]]>b<c>&"d"', body: "咖啡-拿铁" };
    expect(parseWeChatXml(buildWeChatXml(fields))).toEqual({ ok: true, fields });
  });
});
