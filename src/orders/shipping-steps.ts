// The order object's shipping work that spans a call to WeChat: each step loads the order, asks a
// decision (shipping-decisions.ts), commits it through the order's steps, calls the shipping gateway,
// and loads again to decide on the answer. The attempt is committed before each upload.
import type { OrderSteps } from "./order-steps";
import * as ship from "./shipping-decisions";
import type { ShippingGateway } from "./shipping-gateway";

export class ShippingSteps {
  readonly #steps: OrderSteps;
  readonly #gateway: () => ShippingGateway;
  /** One upload or check at a time per order: an alarm, an operator's request and the operator's view never act on shipping at once. */
  #busy = false;

  constructor(steps: OrderSteps, gateway: () => ShippingGateway) {
    this.#steps = steps;
    this.#gateway = gateway;
  }

  /**
   * Sends the order's upload if it is due: after asking get_order first when the last attempt may
   * have landed (an upload WeChat already has would spend the order's one re-shipment).
   */
  async advance(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const gateway = this.#gateway();
      let step = this.#steps.commit(ship.decideShippingStep(this.#steps.mustLoad(), Date.now(), Math.random));
      if (step.result.kind === "check") {
        const check = await gateway.check(step.next.order.id);
        // Loaded after the answer: an operator's view may have recorded the same answer meanwhile.
        const checked = this.#steps.commit(ship.onShippingChecked(this.#steps.mustLoad(), check, Date.now()));
        if (checked.result !== "send") return;
        step = this.#steps.commit(ship.decideShippingStep(this.#steps.mustLoad(), Date.now(), Math.random));
      }
      if (step.result.kind !== "upload") return;
      const { order } = step.next;
      const outcome = await gateway.upload({ id: order.id, openid: order.openid }, step.result.request);
      this.#steps.commit(ship.onShippingUploadResult(this.#steps.mustLoad(), outcome, Date.now()));
    } finally {
      this.#busy = false;
      await this.#steps.rearm();
    }
  }

  /**
   * For the operator's view: asks get_order what WeChat knows of the shipping (at most every few
   * seconds). Reading sends nothing: an upload the answer shows is still needed is due at once, and
   * the alarm armed afterwards sends it.
   */
  async refresh(): Promise<void> {
    const snapshot = this.#steps.mustLoad();
    if (this.#busy || !ship.shouldCheckShipping(snapshot, Date.now())) return;
    // Busy while asking, too: an answer given before an upload in flight lands must not be applied
    // after that upload's lost answer (it would send the upload again).
    this.#busy = true;
    try {
      const check = await this.#gateway().check(snapshot.order.id);
      // Loaded after the answer: the order may have changed meanwhile.
      this.#steps.commit(ship.onShippingChecked(this.#steps.mustLoad(), check, Date.now()));
    } finally {
      this.#busy = false;
    }
  }
}
