// The one module that touches the ORDERS and USER_ORDERS Durable Object namespaces: stubs by name.
import type { Env } from "../env";

export function orderObject(env: Env, orderId: string) {
  return env.ORDERS.get(env.ORDERS.idFromName(orderId));
}

export function userOrdersObject(env: Env, openid: string) {
  return env.USER_ORDERS.get(env.USER_ORDERS.idFromName(openid));
}
