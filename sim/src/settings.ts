// Knobs of the simulated WeChat that tests and developers may turn through POST /__sim/settings.
// The defaults follow the protocol reference; /__sim/reset restores them.

export interface SimSettings {
  /** Sim seconds a new refund of an order must wait after the previous one ("≥1 min apart"); 0 turns the rule off. */
  refundSpacingSeconds: number;
  /** Sim seconds until a PROCESSING refund finishes as SUCCESS by itself; null: only the control API finishes it. */
  refundDelaySeconds: number | null;
}

export const DEFAULT_SETTINGS: Readonly<SimSettings> = Object.freeze({ refundSpacingSeconds: 60, refundDelaySeconds: 5 });

export function defaultSettings(): SimSettings {
  return { ...DEFAULT_SETTINGS };
}

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
      default:
        return { ok: false, message: `unknown setting ${name}; known: refundSpacingSeconds, refundDelaySeconds` };
    }
  }
  return { ok: true, patch };
}
