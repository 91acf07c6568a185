// A test-only workaround for a bug of @cloudflare/vitest-pool-workers 0.15.1
// (cloudflare/workers-sdk#15092, fixed upstream by #15106): the wrapper it puts around each Durable
// Object class replaces the class's prototype with `new Proxy(prototype, handler)` on *every*
// construction, so after N objects of a class each property read walks N nested `get` traps.
// Reads get slower and slower (quadratic overall), and after a few hundred objects (plus the
// re-constructions after evictions) they throw `RangeError: Maximum call stack size exceeded`,
// which the service answers with 500. Hundreds of orders in one run hit it.
//
// While installed, `new Proxy(p, handler)` where `p` is already such a prototype proxy and
// `handler` is the pool's prototype handler returns `p` itself: the handler of every layer is the
// same code over the same class, so one layer behaves exactly like N. Nothing else is touched.
// Remove this file once the pool is upgraded to a release with #15106.

/** The pool's prototype handler: a `get` trap that defers unknown keys to getUnknownPrototypeKey(). */
function isPoolPrototypeHandler(handler: unknown): boolean {
  if (typeof handler !== "object" || handler === null) return false;
  const keys = Object.keys(handler);
  const get = (handler as { get?: unknown }).get;
  return keys.length === 1 && typeof get === "function" && get.toString().includes("getUnknownPrototypeKey");
}

/** Installs the guard; returns the function that restores the original Proxy. */
export function preventPrototypeProxyChains(): () => void {
  const NativeProxy = globalThis.Proxy;
  const prototypeProxies = new WeakSet<object>();
  const Guarded = new NativeProxy(NativeProxy, {
    construct(target, args: [object, ProxyHandler<object>]) {
      const [object, handler] = args;
      const isPrototypeProxy = isPoolPrototypeHandler(handler);
      if (isPrototypeProxy && prototypeProxies.has(object)) return object;
      const proxy = Reflect.construct(target, args) as object;
      if (isPrototypeProxy) prototypeProxies.add(proxy);
      return proxy;
    },
  });
  globalThis.Proxy = Guarded;
  return () => {
    if (globalThis.Proxy === Guarded) globalThis.Proxy = NativeProxy;
  };
}
