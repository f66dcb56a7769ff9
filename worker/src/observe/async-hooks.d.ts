// The one Node module the Worker uses (nodejs_compat provides it in workerd): the part context.ts needs, since the
// Worker's types are the Workers runtime's, not Node's.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, fn: () => R): R;
  }
}
