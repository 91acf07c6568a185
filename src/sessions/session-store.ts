// Login sessions in Workers KV: the only module that touches the SESSIONS namespace.
// A record is found by the hash of its token; session_key is kept here and never leaves.
import { hashToken, isWellFormedToken, mintToken } from "./token";

/** What a bearer token stands for, as stored under `session:v1:<sha256 hex of token>`. */
export interface SessionRecord {
  readonly openid: string;
  /** WeChat's session_key for this login. Server-side only; no route may return it. */
  readonly sessionKey: string;
  readonly unionid?: string;
  /** ms since epoch */
  readonly createdAt: number;
  /** ms since epoch; checked on every look-up because KV expiry is lazy. */
  readonly expiresAt: number;
}

/** The view of a session that request handlers get: no session_key. */
export interface Session {
  readonly openid: string;
  readonly tokenHash: string;
  readonly expiresAt: number;
}

const KEY_PREFIX = "session:v1:";

function keyFor(tokenHash: string): string {
  return KEY_PREFIX + tokenHash;
}

export class SessionStore {
  readonly #kv: KVNamespace;
  readonly #now: () => number;

  constructor(kv: KVNamespace, now: () => number = Date.now) {
    this.#kv = kv;
    this.#now = now;
  }

  /** Stores a new session and returns its token, which exists only in this return value. */
  async create(input: { openid: string; sessionKey: string; unionid?: string; ttlSeconds: number }): Promise<{ token: string; expiresAt: number }> {
    const token = mintToken();
    const createdAt = this.#now();
    const expiresAt = createdAt + input.ttlSeconds * 1000;
    const record: SessionRecord = {
      openid: input.openid,
      sessionKey: input.sessionKey,
      ...(input.unionid !== undefined ? { unionid: input.unionid } : {}),
      createdAt,
      expiresAt,
    };
    await this.#kv.put(keyFor(await hashToken(token)), JSON.stringify(record), {
      expirationTtl: input.ttlSeconds,
    });
    return { token, expiresAt };
  }

  /** The live session for a token, or null when the token is malformed, unknown, revoked or expired. */
  async find(token: string): Promise<Session | null> {
    if (!isWellFormedToken(token)) return null;
    const tokenHash = await hashToken(token);
    const record = await this.#kv.get<SessionRecord>(keyFor(tokenHash), "json");
    if (record === null || typeof record.openid !== "string" || !(record.expiresAt > this.#now())) return null;
    return { openid: record.openid, tokenHash, expiresAt: record.expiresAt };
  }

  /** Revokes a session at once (logout). */
  async revoke(session: Session): Promise<void> {
    await this.#kv.delete(keyFor(session.tokenHash));
  }
}
