// The WeChat Pay v2 envelope shared by every pay endpoint: reading a request in a fixed order
// (method → body → UTF-8 → XML without DTD → envelope fields → merchant → sign) and writing the
// two-level reply (return_code; then, signed, result_code). HTTP status is always 200.
import type { SimConfig } from "./context";
import { newNonce } from "./ids";
import { isSignType, signV2, verifyV2, type SignType } from "./sign";
import { buildWeChatXml, parseWeChatXml, type XmlFields } from "./xml";

/** A reply to a pay call, before it is rendered to XML. */
export type PayOutcome =
  /** `return_code=FAIL`: the request was not accepted; nothing is signed. */
  | { kind: "fail"; code: string; returnMsg: string }
  /** `return_code=SUCCESS`: signed with the request's sign_type. `fields` start with result_code. */
  | { kind: "signed"; signType: SignType; fields: XmlFields; deviceInfo?: string };

export type PayRequest =
  | { ok: true; fields: XmlFields; signType: SignType }
  | { ok: false; outcome: PayOutcome; fields: XmlFields };

/** The return-level failures, with the return_msg texts WeChat uses. */
export function returnFail(code: string, returnMsg: string): PayOutcome {
  return { kind: "fail", code, returnMsg };
}

/** A signed `result_code=SUCCESS` reply carrying `fields`. */
export function resultSuccess(signType: SignType, fields: XmlFields, deviceInfo?: string): PayOutcome {
  return { kind: "signed", signType, fields: { result_code: "SUCCESS", ...fields }, deviceInfo };
}

/** A signed `result_code=FAIL` reply. */
export function resultFail(signType: SignType, errCode: string, errCodeDes: string): PayOutcome {
  return { kind: "signed", signType, fields: { result_code: "FAIL", err_code: errCode, err_code_des: errCodeDes } };
}

const ENVELOPE_FIELDS = ["appid", "mch_id", "nonce_str", "sign"] as const;

/** Reads and authenticates a pay request. Business checks (appid, parameters) come after. */
export async function readPayRequest(method: string, body: ArrayBuffer, config: SimConfig): Promise<PayRequest> {
  const fail = (code: string, returnMsg: string, fields: XmlFields = {}): PayRequest => ({
    ok: false,
    outcome: returnFail(code, returnMsg),
    fields,
  });
  if (method !== "POST") return fail("REQUIRE_POST_METHOD", "请使用post方法");

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    return fail("NOT_UTF8", "编码格式错误");
  }
  if (text.trim() === "") return fail("POST_DATA_EMPTY", "post数据为空");

  const parsed = parseWeChatXml(text);
  if (!parsed.ok) return fail("XML_FORMAT_ERROR", "XML格式错误");
  const fields = parsed.fields;

  for (const name of ENVELOPE_FIELDS) {
    if (!fields[name]) return fail("LACK_PARAMS", `缺少参数${name}`, fields);
  }
  if (fields.nonce_str!.length > 32) return fail("PARAM_ERROR", "nonce_str参数长度有误", fields);
  // Without a known mch_id there is no key to check the sign with.
  if (fields.mch_id !== config.mchId) return fail("MCHID_NOT_EXIST", "mch_id参数错误，商户号不存在", fields);

  const declared = fields.sign_type || "MD5";
  if (!isSignType(declared)) return fail("PARAM_ERROR", "sign_type参数错误", fields);
  if (!(await verifyV2(fields, config.key, declared))) return fail("SIGNERROR", "签名错误", fields);
  return { ok: true, fields, signType: declared };
}

/** The outcome as the call log names it: "SUCCESS", an err_code, or the return-level code. */
export function outcomeLabel(outcome: PayOutcome): string {
  if (outcome.kind === "fail") return outcome.code;
  return outcome.fields.result_code === "SUCCESS" ? "SUCCESS" : (outcome.fields.err_code ?? "FAIL");
}

/** Fields of a signed reply, in WeChat's order: return_*, appid, mch_id, device_info, nonce_str, sign, … */
export async function signedFields(
  config: SimConfig,
  signType: SignType,
  fields: XmlFields,
  deviceInfo?: string,
): Promise<XmlFields> {
  const head: XmlFields = { return_code: "SUCCESS", return_msg: "OK", appid: config.appid, mch_id: config.mchId };
  if (deviceInfo !== undefined) head.device_info = deviceInfo;
  head.nonce_str = newNonce();
  const sign = await signV2({ ...head, ...fields }, config.key, signType);
  return { ...head, sign, ...fields };
}

/** Renders an outcome. Real responses were captured as text/plain. */
export async function renderPayOutcome(outcome: PayOutcome, config: SimConfig): Promise<Response> {
  const fields =
    outcome.kind === "fail"
      ? { return_code: "FAIL", return_msg: outcome.returnMsg }
      : await signedFields(config, outcome.signType, outcome.fields, outcome.deviceInfo);
  return new Response(buildWeChatXml(fields), { status: 200, headers: { "content-type": "text/plain" } });
}
