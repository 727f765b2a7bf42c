import type { IncomingHttpHeaders } from "node:http";
import { BlockList, isIP } from "node:net";

/**
 * The address a request comes from, for throttling and logs. The socket's peer unless that peer is
 * a proxy named in `STUDIO_TRUSTED_PROXIES`: only then is `X-Forwarded-For` believed, and only as
 * far back as it runs through trusted proxies — anyone can send that header, so trusting it by
 * default would let a guesser pick a fresh address for every attempt.
 */

export interface TrustedProxies {
  /** As configured, for messages. */
  readonly entries: readonly string[];
  trusts(address: string): boolean;
}

export const NO_TRUSTED_PROXIES: TrustedProxies = { entries: [], trusts: () => false };

/**
 * `STUDIO_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges (`10.0.0.0/8`, `::1`).
 * Throws with the entry that is neither.
 */
export function parseTrustedProxies(value: string | undefined): TrustedProxies {
  const entries = (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return NO_TRUSTED_PROXIES;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix, ...rest] = entry.split("/");
    const family = isIP(address);
    const bits = prefix === undefined ? null : Number(prefix);
    const maxBits = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      rest.length > 0 ||
      (bits !== null && (!Number.isInteger(bits) || bits < 0 || bits > maxBits))
    ) {
      throw new Error(
        `STUDIO_TRUSTED_PROXIES: "${entry}" is not an IP address or a CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, ::1).`,
      );
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === null) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  return {
    entries,
    trusts: (address) => {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 4 ? "ipv4" : "ipv6");
    },
  };
}

export interface AddressedRequest {
  headers: IncomingHttpHeaders;
  socket?: { remoteAddress?: string | undefined } | undefined;
}

/** The client's address: the socket's, or the nearest hop of `X-Forwarded-For` not trusted. */
export function clientAddress(req: AddressedRequest, trusted: TrustedProxies): string {
  let address = normalize(req.socket?.remoteAddress ?? "");
  if (address === "") return "unknown";
  const header = req.headers["x-forwarded-for"];
  const hops = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((hop) => normalize(hop.trim()))
    .filter((hop) => hop !== "");
  // Right to left: each hop was appended by the proxy before it; stop at the first that is not
  // one of ours (or is not an address at all, which no proxy of ours would write).
  while (trusted.trusts(address)) {
    const hop = hops.pop();
    if (hop === undefined || isIP(hop) === 0) break;
    address = hop;
  }
  return address;
}

/** `::ffff:127.0.0.1` (an IPv4 client of a dual-stack socket) is 127.0.0.1. */
function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}
