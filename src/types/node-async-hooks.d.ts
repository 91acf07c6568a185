// The one Node.js API the Worker uses (enabled by the nodejs_als compatibility flag). Declared here
// rather than by @types/node, whose globals would clash with the Workers runtime types.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, callback: () => R): R;
  }
}
