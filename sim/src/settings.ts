// Knobs of the simulated WeChat (pay, v3 and the mini-program server APIs) that tests and developers may turn through POST /__sim/settings.
// The defaults follow the protocol reference; /__sim/reset restores them.

/** How WeChat signs v3 answers and notifications for this merchant (§4.3). */
export const V3_KEY_MODES = ["public_key", "certificate", "migration"] as const;
export type V3KeyMode = (typeof V3_KEY_MODES)[number];

export interface SimSettings {
  /** Sim seconds a new refund of an order must wait after the previous one ("≥1 min apart"); 0 turns the rule off. */
  refundSpacingSeconds: number;
  /** Sim seconds until a PROCESSING refund finishes as SUCCESS by itself; null: only the control API finishes it. */
  refundDelaySeconds: number | null;
  /**
   * v3: `public_key` signs with the WeChat Pay public key's private half (Wechatpay-Serial PUB_KEY_ID_…);
   * `certificate` with the platform certificate's key; `migration` answers with the public key only
   * when the request names it in Wechatpay-Serial, and signs each notification one way or the other.
   */
  v3KeyMode: V3KeyMode;
  /** v3 migration: the share (0–1) of notifications signed with the public key, picked per notification from the seed. */
  v3MigrationShare: number;
  v3MigrationSeed: number;
  /** v3: how many of the next answers carry a WECHATPAY/SIGNTEST/ probe signature (counts down). */
  v3ProbeAnswers: number;
  /** v3: how many of the next notification POSTs carry a probe signature (counts down). */
  v3ProbeNotifications: number;
  /** Mini program: whether the order-shipping service (发货信息管理) is enabled; false answers 48001. */
  mpShippingEnabled: boolean;
  /** Mini program: sim seconds after payment during which the shipping APIs answer 10060001 "payment not found". */
  mpPaymentVisibleAfterSeconds: number;
}

export const DEFAULT_SETTINGS: Readonly<SimSettings> = Object.freeze({
  refundSpacingSeconds: 60,
  refundDelaySeconds: 5,
  v3KeyMode: "public_key",
  v3MigrationShare: 0.5,
  v3MigrationSeed: 0,
  v3ProbeAnswers: 0,
  v3ProbeNotifications: 0,
  mpShippingEnabled: true,
  mpPaymentVisibleAfterSeconds: 60,
});

export function defaultSettings(): SimSettings {
  return { ...DEFAULT_SETTINGS };
}

const SETTING_NAMES = Object.keys(DEFAULT_SETTINGS).join(", ");
const isCount = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 1000;

/** Reads a `POST /__sim/settings` body: a partial SimSettings; unknown names are refused, not ignored. */
export function parseSettingsPatch(body: Record<string, unknown>): { ok: true; patch: Partial<SimSettings> } | { ok: false; message: string } {
  const patch: Partial<SimSettings> = {};
  for (const [name, value] of Object.entries(body)) {
    const seconds = typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
    switch (name) {
      case "refundSpacingSeconds":
        if (seconds === undefined) return { ok: false, message: "refundSpacingSeconds must be a non-negative number" };
        patch.refundSpacingSeconds = seconds;
        break;
      case "refundDelaySeconds":
        if (value !== null && seconds === undefined) {
          return { ok: false, message: "refundDelaySeconds must be a non-negative number or null" };
        }
        patch.refundDelaySeconds = value === null ? null : seconds;
        break;
      case "v3KeyMode":
        if (!V3_KEY_MODES.includes(value as V3KeyMode)) return { ok: false, message: `v3KeyMode must be one of ${V3_KEY_MODES.join(", ")}` };
        patch.v3KeyMode = value as V3KeyMode;
        break;
      case "v3MigrationShare":
        if (seconds === undefined || seconds > 1) return { ok: false, message: "v3MigrationShare must be a number from 0 to 1" };
        patch.v3MigrationShare = seconds;
        break;
      case "v3MigrationSeed":
        if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
          return { ok: false, message: "v3MigrationSeed must be an integer from 0 to 2^32-1" };
        }
        patch.v3MigrationSeed = value;
        break;
      case "v3ProbeAnswers":
      case "v3ProbeNotifications":
        if (!isCount(value)) return { ok: false, message: `${name} must be an integer from 0 to 1000` };
        patch[name] = value;
        break;
      case "mpShippingEnabled":
        if (typeof value !== "boolean") return { ok: false, message: "mpShippingEnabled must be a boolean" };
        patch.mpShippingEnabled = value;
        break;
      case "mpPaymentVisibleAfterSeconds":
        if (seconds === undefined) return { ok: false, message: "mpPaymentVisibleAfterSeconds must be a non-negative number" };
        patch.mpPaymentVisibleAfterSeconds = seconds;
        break;
      default:
        return { ok: false, message: `unknown setting ${name}; known: ${SETTING_NAMES}` };
    }
  }
  return { ok: true, patch };
}
