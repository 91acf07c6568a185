// Idempotency-Keys for purchase attempts: unique per user and attempt, with no crypto API needed.

/**
 * A new key for one purchase attempt: the time plus 80 random bits. The service scopes keys to the
 * user, so collisions only matter between one user's attempts, and Math.random is enough for that
 * (the mini-program runtime has no synchronous crypto.getRandomValues).
 */
export function newIdempotencyKey(): string {
  let random = "";
  for (let i = 0; i < 4; i++) random += Math.floor(Math.random() * 0x100000).toString(36).padStart(4, "0");
  return `mp-${Date.now().toString(36)}-${random}`;
}
