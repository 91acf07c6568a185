// The order list's cursor: opaque to clients, base64url of "<createdAt>.<orderId>". Decoded (and so
// validated) once, by the route; the user's object receives the position itself.
import { fromBase64Url, toBase64Url } from "../base64url";

/** Where a page of a user's orders starts: after this order. */
export interface ListPosition {
  readonly createdAt: number;
  readonly orderId: string;
}

export function encodeCursor(position: ListPosition): string {
  return toBase64Url(`${position.createdAt}.${position.orderId}`);
}

/** The position a cursor names, or null for one we did not issue. */
export function decodeCursor(cursor: string): ListPosition | null {
  const text = fromBase64Url(cursor);
  const match = text === null ? null : /^([0-9]{1,15})\.([0-9A-Za-z_-]{1,32})$/.exec(text);
  return match?.[1] && match[2] ? { createdAt: Number(match[1]), orderId: match[2] } : null;
}
