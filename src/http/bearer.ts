// The one reader of `Authorization: Bearer <token>`, for the user and the operator middleware alike.

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

/** The presented bearer token, or undefined when the header is absent or not a bearer credential. */
export function bearerToken(header: string | undefined): string | undefined {
  return BEARER.exec(header ?? "")?.[1];
}
