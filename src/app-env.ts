// The Hono environment shared by every route: the bindings and what middleware puts on the context.
import type { Env } from "./env";
import type { Session } from "./sessions/session-store";

export interface AppEnv {
  Bindings: Env;
  /** Read with c.get(name): Hono's c.var builds a new object of all of them on every access. */
  Variables: {
    /** Set by requireSession(): the caller's live login session. */
    session: Session;
    /** A random id for this request, echoed as X-Request-Id and put on every log line. */
    requestId: string;
  };
}
