// Unpadded base64url (RFC 4648 §5), the one copy: bearer tokens and order-list cursors use it.

/** The bytes (or a Latin-1 string's characters) as unpadded base64url. */
export function toBase64Url(input: Uint8Array | string): string {
  let binary = "";
  if (typeof input === "string") binary = input;
  else for (const b of input) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The Latin-1 string an unpadded base64url text encodes, or null if it is not base64url. */
export function fromBase64Url(text: string): string | null {
  try {
    return atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
}
