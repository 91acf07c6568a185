// The payer's address for unifiedorder's spbill_create_ip: CF-Connecting-IP, which Cloudflare sets
// and clients cannot forge in production. Locally (no header) it is the loopback address.

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

export function clientIp(request: Request): string {
  const ip = request.headers.get("CF-Connecting-IP")?.trim() ?? "";
  return IPV4.test(ip) || (ip.includes(":") && IPV6.test(ip)) ? ip : "127.0.0.1";
}
