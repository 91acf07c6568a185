// The client's address: CF-Connecting-IP, which Cloudflare sets and clients cannot forge in
// production (locally, with no header, the loopback address). Two uses: the payer's address for
// unifiedorder's spbill_create_ip, and the key that per-client rate limits count by — where one
// IPv6 client is its whole /64, since a single host is handed at least that many addresses.

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

/** The client's address as Cloudflare gave it, or 127.0.0.1 when there is none (or it is not an address). */
export function clientIp(request: Request): string {
  const ip = request.headers.get("CF-Connecting-IP")?.trim() ?? "";
  return IPV4.test(ip) || parseIpv6(ip) !== null ? ip : "127.0.0.1";
}

/**
 * Who a per-client limit counts: an IPv4 address as it is; an IPv6 address by its /64 network, in
 * one canonical spelling whatever the case or zero compression ("2001:db8:0:1::/64"); an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it maps.
 */
export function clientNetwork(ip: string): string {
  if (IPV4.test(ip)) return ip;
  const hextets = parseIpv6(ip);
  if (hextets === null) return ip;
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    const [hi = 0, lo = 0] = hextets.slice(6);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
  }
  return `${hextets.slice(0, 4).map((h) => h.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (any case, "::" compression, a dotted IPv4 tail), or null. */
export function parseIpv6(text: string): number[] | null {
  if (!text.includes(":") || text.length > 45) return null;
  const lower = text.toLowerCase();
  const halves = lower.split("::");
  if (halves.length > 2) return null;
  // A dotted IPv4 tail may only end the whole address.
  const groups = (part: string, endsAddress: boolean): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (endsAddress && i === pieces.length - 1 && IPV4.test(piece)) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split(".").map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else if (HEXTET.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1] ?? "", true) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  // "::" stands for at least one group of zeros.
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : null;
}
