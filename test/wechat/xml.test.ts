// Flat WeChat XML: values stay exactly as sent, dangerous or odd-shaped documents are refused with a reason.
import { describe, expect, it } from "vitest";
import { XmlError, buildXml, parseXml, type XmlErrorReason } from "../../src/wechat/xml";

function refusal(text: string, options?: Parameters<typeof parseXml>[1]): XmlErrorReason | "accepted" {
  try {
    parseXml(text, options);
    return "accepted";
  } catch (error) {
    if (error instanceof XmlError) return error.reason;
    throw error;
  }
}

describe("parseXml: values", () => {
  it("reads CDATA and bare values alike", () => {
    expect(parseXml("<xml><return_code><![CDATA[SUCCESS]]></return_code><total_fee>1</total_fee></xml>")).toEqual({
      return_code: "SUCCESS",
      total_fee: "1",
    });
  });

  it("keeps every value a string: leading zeros, numbers-that-are-not", () => {
    const fields = parseXml(
      "<xml><total_fee>007</total_fee><big>12345678901234567890</big><hex>0x1F</hex><exp>1e3</exp><neg>-0</neg><t>true</t></xml>",
    );
    expect(fields).toEqual({ total_fee: "007", big: "12345678901234567890", hex: "0x1F", exp: "1e3", neg: "-0", t: "true" });
  });

  it('keeps CDATA "0" as "0" and bare 0 as "0"', () => {
    expect(parseXml("<xml><a><![CDATA[0]]></a><b>0</b></xml>")).toEqual({ a: "0", b: "0" });
  });

  it('gives "" for an empty CDATA, an empty element and a self-closing element', () => {
    expect(parseXml("<xml><device_info><![CDATA[]]></device_info><b></b><c/></xml>")).toEqual({
      device_info: "",
      b: "",
      c: "",
    });
  });

  it("keeps whitespace inside values as sent, bare or CDATA", () => {
    expect(parseXml("<xml><a> x </a><b><![CDATA[  y\n]]></b><c>   </c></xml>")).toEqual({ a: " x ", b: "  y\n", c: "   " });
  });

  it("ignores layout around fields and around a CDATA section, an XML declaration and comments", () => {
    const text = `<?xml version="1.0" encoding="UTF-8"?>
<xml>
  <!-- captured from production -->
  <return_code>
    <![CDATA[SUCCESS]]>
  </return_code>
  <total_fee>10</total_fee>
</xml>
`;
    expect(parseXml(text)).toEqual({ return_code: "SUCCESS", total_fee: "10" });
  });

  it("decodes XML's own entities and character references in bare values, not in CDATA", () => {
    expect(parseXml("<xml><a>&lt;&amp;&gt;&quot;&apos;&#65;&#x4E2D;</a><b><![CDATA[&lt;]]></b></xml>")).toEqual({
      a: `<&>"'A中`,
      b: "&lt;",
    });
  });

  it("keeps Chinese text", () => {
    expect(parseXml("<xml><return_msg><![CDATA[签名错误]]></return_msg><attach>支付测试</attach></xml>")).toEqual({
      return_msg: "签名错误",
      attach: "支付测试",
    });
  });

  it("joins CDATA sections split around ]]>", () => {
    expect(parseXml("<xml><a><![CDATA[x]]]]><![CDATA[>y]]></a></xml>")).toEqual({ a: "x]]>y" });
  });

  it("reads the official unifiedorder response example", () => {
    const text = `<xml>
   <return_code><![CDATA[SUCCESS]]></return_code>
   <return_msg><![CDATA[OK]]></return_msg>
   <appid><![CDATA[wx2421b1c4370ec43b]]></appid>
   <mch_id><![CDATA[10000100]]></mch_id>
   <nonce_str><![CDATA[IITRi8Iabbblz1Jc]]></nonce_str>
   <openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>
   <sign><![CDATA[7921E432F65EB8ED0CE9755F0E86D72F]]></sign>
   <result_code><![CDATA[SUCCESS]]></result_code>
   <prepay_id><![CDATA[wx201411101639507cbf6ffd8b0779950874]]></prepay_id>
   <trade_type><![CDATA[JSAPI]]></trade_type>
</xml>`;
    expect(parseXml(text)).toEqual({
      return_code: "SUCCESS",
      return_msg: "OK",
      appid: "wx2421b1c4370ec43b",
      mch_id: "10000100",
      nonce_str: "IITRi8Iabbblz1Jc",
      openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
      sign: "7921E432F65EB8ED0CE9755F0E86D72F",
      result_code: "SUCCESS",
      prepay_id: "wx201411101639507cbf6ffd8b0779950874",
      trade_type: "JSAPI",
    });
  });

  it('reads a decrypted refund req_info with root "root"', () => {
    const text = "<root>\n<out_refund_no><![CDATA[1234]]></out_refund_no>\n<refund_fee><![CDATA[1]]></refund_fee>\n</root>";
    expect(parseXml(text, { root: "root" })).toEqual({ out_refund_no: "1234", refund_fee: "1" });
  });

  it("gives an empty object for an empty root", () => {
    expect(parseXml("<xml></xml>")).toEqual({});
    expect(parseXml("<xml/>")).toEqual({});
  });
});

describe("parseXml: refusals", () => {
  it("refuses an XXE document (DOCTYPE with an external entity) before parsing", () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>`;
    expect(refusal(xxe)).toBe("dtd");
  });

  it("refuses a billion-laughs document", () => {
    const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><a>&lol3;</a></xml>`;
    expect(refusal(laughs)).toBe("dtd");
  });

  it("refuses DOCTYPE and ENTITY anywhere, in any case", () => {
    expect(refusal('<xml><a>1</a></xml><!doctype x>')).toBe("dtd");
    expect(refusal("<xml><a><![CDATA[<!ENTITY x 'y'>]]></a></xml>")).toBe("dtd");
  });

  it("refuses an entity it does not know instead of passing it through", () => {
    expect(refusal("<xml><a>&xxe;</a></xml>")).toBe("malformed");
    expect(refusal("<xml><a>&nbsp;</a></xml>")).toBe("malformed");
    expect(refusal("<xml><a>&#0;</a></xml>")).toBe("malformed");
    expect(refusal("<xml><a>&amp</a></xml>")).toBe("malformed");
  });

  it("refuses a document larger than maxBytes, counted in UTF-8 bytes", () => {
    expect(refusal(`<xml><a>${"x".repeat(70 * 1024)}</a></xml>`)).toBe("too_large");
    const chinese = `<xml><a>${"中".repeat(30)}</a></xml>`; // 90 bytes of value, 30 UTF-16 units
    expect(refusal(chinese, { limits: { maxBytes: 100 } })).toBe("too_large");
    expect(refusal(chinese, { limits: { maxBytes: 120 } })).toBe("accepted");
  });

  it("refuses more fields than maxFields", () => {
    const fields = (n: number) => `<xml>${Array.from({ length: n }, (_, i) => `<f${i}>1</f${i}>`).join("")}</xml>`;
    expect(refusal(fields(100))).toBe("accepted");
    expect(refusal(fields(101))).toBe("too_many_fields");
    expect(refusal(fields(3), { limits: { maxFields: 2 } })).toBe("too_many_fields");
  });

  it("refuses nested elements and text directly under the root", () => {
    expect(refusal("<xml><a><b>1</b></a></xml>")).toBe("not_flat");
    expect(refusal("<xml><a>1<b/></a></xml>")).toBe("not_flat");
    expect(refusal("<xml>stray<a>1</a></xml>")).toBe("not_flat");
    expect(refusal("<xml><![CDATA[stray]]><a>1</a></xml>")).toBe("not_flat");
  });

  it("refuses a root other than the expected one", () => {
    expect(refusal("<root><a>1</a></root>")).toBe("wrong_root");
    expect(refusal("<xml><a>1</a></xml>", { root: "root" })).toBe("wrong_root");
    expect(refusal("<XML><a>1</a></XML>")).toBe("wrong_root");
  });

  it("refuses duplicate field names (which one was signed would be ambiguous)", () => {
    expect(refusal("<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>")).toBe("malformed");
  });

  it("refuses malformed documents", () => {
    for (const text of [
      "",
      "   ",
      "not xml",
      "<xml><a>1</a>",
      "<xml><a>1</b></xml>",
      "<xml><a>1 & 2</a></xml>",
      "<xml><a>1</a></xml><xml></xml>",
      "<xml><a>1</a></xml>trailing",
      "<xml><__proto__>1</__proto__></xml>",
    ]) {
      expect(refusal(text), text).toBe("malformed");
    }
  });

  it("never quotes the document in the error message", () => {
    try {
      parseXml("<xml><sign>SECRETSIGN</sign><sign>SECRETSIGN</sign></xml>");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(XmlError);
      expect(String(error)).not.toContain("SECRETSIGN");
    }
  });
});

describe("buildXml", () => {
  it("writes <xml> with no declaration and every value in CDATA, in the given order", () => {
    expect(buildXml({ return_code: "SUCCESS", return_msg: "OK" })).toBe(
      "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>",
    );
  });

  it("round-trips values with ]]>, <&>, quotes, Chinese, whitespace, digits with leading zeros and empty strings", () => {
    const fields = {
      a: "x]]>y",
      b: "]]>]]>",
      c: "<&>\"'",
      body: "咖啡-拿铁",
      d: "  two  spaces\n",
      crlf: "line\r\nbreak\r",
      total_fee: "007",
      e: "",
      f: "&lt;not-an-entity&gt;",
    };
    expect(parseXml(buildXml(fields))).toEqual(fields);
  });

  it("refuses names that are not [A-Za-z_][A-Za-z0-9_]*", () => {
    for (const name of ["a b", "a-b", "a:b", "<x>", "", "1a", "中文"]) {
      expect(() => buildXml({ [name]: "v" }), name).toThrow(TypeError);
    }
  });

  it("refuses characters XML cannot carry, without echoing the value", () => {
    expect(() => buildXml({ a: "bell\u0007secret" })).toThrow(TypeError);
    expect(() => buildXml({ a: "lone\uD800" })).toThrow(TypeError);
    try {
      buildXml({ a: "bell\u0007secret" });
    } catch (error) {
      expect(String(error)).not.toContain("secret");
    }
  });
});
