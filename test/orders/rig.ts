// The rig of the order suites that share it (pay-notify, refunds, and their *.v2 files): a fresh
// harness and paying user for each test, the operator's calls, and, for the refund suites, one
// faked clock for the service and the simulator that a test moves forward (WeChat's minute between
// refunds of one order, its refund completing after 5 s).
// The bindings below are live: each test sees the harness, user and clock its beforeEach made.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { orderObject } from "../../src/orders/order-store";
import { startHarness, type Harness } from "../support/harness";

export const ADMIN = env.ADMIN_TOKEN!;
export let h: Harness;
export let token: string;
/** The service's faked Date.now() (with `fakeDate`), which advance() moves. */
export let clock: number;

/** Registers the rig's hooks: a fresh harness and user before each test (and a faked Date), real timers after. */
export function useRig(options: { fakeDate?: true } = {}): void {
  beforeEach(async () => {
    h = startHarness();
    ({ token } = await h.login(`payer-${crypto.randomUUID()}`));
    if (!options.fakeDate) return;
    vi.useFakeTimers({ toFake: ["Date"] });
    clock = Date.now();
    vi.setSystemTime(clock);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });
}

/** A pending order of one coffee (1800 fen) of the rig's user. */
export const newOrder = () => h.newOrder(token);

/** Moves both clocks (the service's Date and the simulator's) forward and lets the simulator do what is due. */
export async function advance(ms: number): Promise<void> {
  clock += ms;
  vi.setSystemTime(clock);
  await h.simControl("/__sim/clock/advance", { seconds: 0 });
}

/** A paid order of `quantity` coffees (1800 fen each). */
export async function paidOrder(quantity = 1): Promise<string> {
  const response = await h.createOrder(token, [{ sku: "coffee", quantity }]);
  const id = ((await response.json()) as { order: { id: string } }).order.id;
  await h.simControl(`/__sim/orders/${id}/pay`, {});
  expect((await orderObject(env, id).read())!.status).toBe("paid");
  return id;
}

export type RefundBody = { refund: { id: string; amount: number; status: string }; order: { status: string; refundedAmount: number } };

export function refund(id: string, body: unknown, headers: Record<string, string> = {}) {
  return h.call(`/admin/orders/${id}/refunds`, { json: body, token: ADMIN, headers });
}

export async function adminView(id: string) {
  const response = await h.call(`/admin/orders/${id}`, { token: ADMIN });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    order: { status: string; refundedAmount: number; amount: number };
    history: { from: string | null; to: string; source: string }[];
    refunds: { id: string; amount: number; status: string; failure: string | null; needsAttention: boolean }[];
  };
}
