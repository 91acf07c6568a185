// The order object's refusals as the contract's HTTP errors: the one place that maps each domain
// reason to a status, a code and a message safe to show.
import { ApiError } from "../errors";
import type { OrderFailure, Result } from "../orders/order-result";
import { upstreamApiError } from "../upstream";

/** The contract's error for a reason the order object gave. */
export function orderError(failure: OrderFailure): ApiError {
  switch (failure.reason) {
    case "not_found":
      return ApiError.notFound("No such order.");
    case "refund_not_found":
      return ApiError.notFound("No such refund.");
    case "event_not_found":
      return ApiError.notFound("No such event.");
    case "forbidden":
      return new ApiError(403, "forbidden", "This order belongs to another user.");
    case "already_final":
      return new ApiError(409, "invalid_state", `The order is ${failure.status}.`);
    case "expired":
      return new ApiError(409, "invalid_state", "The order has expired or is being closed; place a new one.");
    case "amount_mismatch":
      return ApiError.invalidRequest("The paid amount does not match the order.");
    case "refund_amount_mismatch":
      return ApiError.invalidRequest("The refund's amounts do not match.");
    case "illegal_transition":
      return new ApiError(409, "invalid_state", failure.detail);
    case "idempotency_conflict":
      return new ApiError(409, "invalid_state", "This Idempotency-Key was already used with a different refund.");
    case "refund_exceeds":
      return new ApiError(409, "invalid_state", `Refund refused: ${failure.detail}.`);
    case "refund_not_cancellable":
      return new ApiError(409, "invalid_state", `The refund cannot be cancelled: ${failure.detail}.`);
    case "refund_rejected":
      return new ApiError(502, "upstream_error", `WeChat refused the refund (${failure.detail}); nothing was refunded and the amount is released.`);
    case "refund_unsendable":
      return new ApiError(502, "upstream_error", `The refund could not be sent to WeChat (${failure.detail}); nothing was refunded and the amount is released.`);
    case "not_shippable":
      return new ApiError(409, "invalid_state", `The order is ${failure.status}: only a paid or partially refunded order is shipped.`);
    case "shipping_in_progress":
      return new ApiError(409, "invalid_state", "A shipping upload for this order is under way; see its shipping in the order's view.");
    case "reshipment_used_up":
      return new ApiError(409, "invalid_state", "The order was shipped and re-shipped already; WeChat allows no more uploads: correct it in the mini-program's admin console.");
    case "settlement_mismatch":
      return ApiError.invalidRequest("The settlement names another transaction than the order's.");
    case "upstream_failed":
      return upstreamApiError(false);
    case "upstream_timeout":
      return upstreamApiError(true);
    default:
      return unreachable(failure);
  }
}

/** The value of an order object's answer, or its refusal thrown as the contract's error. */
export function orderValue<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw orderError(result.error);
}

function unreachable(failure: never): never {
  throw new Error(`unmapped order failure ${JSON.stringify(failure)}`);
}
