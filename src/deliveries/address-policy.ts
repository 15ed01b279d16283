// Which addresses a callback may connect to (SSRF guard, run-control §4.6). Only ordinary public unicast addresses
// pass: loopback, private (RFC 1918, fc00::/7), link-local and cloud metadata (169.254/16, fe80::/10), CGNAT
// (100.64/10), unspecified, broadcast, multicast and reserved ranges are refused, including their IPv4-mapped and
// NAT64 (64:ff9b::/96) IPv6 forms. Self-hosters allow ranges with FLARE_WEBHOOK_ALLOW_CIDRS, or every private range
// with FLARE_WEBHOOK_ALLOW_PRIVATE=1. Ranges come from ipaddr.js's tables, not hand parsing.
import ipaddr from 'ipaddr.js';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** Ranges FLARE_WEBHOOK_ALLOW_PRIVATE=1 lets through (never unspecified, broadcast or multicast). */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'linkLocal', 'carrierGradeNat', 'uniqueLocal', 'deprecatedSiteLocal']);

export interface AddressPolicyOptions {
  /** CIDRs (IPv4 or IPv6) that are always allowed. */
  allowCidrs?: string[];
  allowPrivate?: boolean;
}

export class AddressPolicy {
  private readonly allowed: Array<[Addr, number]>;
  private readonly allowPrivate: boolean;

  constructor(opts: AddressPolicyOptions = {}) {
    this.allowPrivate = opts.allowPrivate ?? false;
    this.allowed = (opts.allowCidrs ?? []).map((c) => {
      try {
        return ipaddr.parseCIDR(c.trim());
      } catch {
        throw new Error(`invalid CIDR in the webhook allow list: ${c}`);
      }
    });
  }

  /** Why the address may not be connected to, or undefined when it may. */
  refusal(ip: string): string | undefined {
    let addr: Addr;
    try {
      addr = ipaddr.parse(ip);
    } catch {
      return 'not an IP address';
    }
    const forms = [addr, ...embeddedIPv4(addr)];
    if (forms.some((f) => this.allowed.some(([net, bits]) => f.kind() === net.kind() && f.match(net as never, bits)))) return undefined;
    // The address that would really be reached decides: a mapped or NAT64 address is judged by its IPv4 part.
    const target = forms[forms.length - 1]!;
    const range = target.range();
    if (range === 'unicast') return undefined;
    if (this.allowPrivate && PRIVATE_RANGES.has(range)) return undefined;
    return `${range} address`;
  }
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-translated or NAT64 (64:ff9b::/96) address. */
function embeddedIPv4(addr: Addr): ipaddr.IPv4[] {
  if (addr.kind() !== 'ipv6') return [];
  const v6 = addr as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return [v6.toIPv4Address()];
  const range = v6.range();
  if (range === 'rfc6145' || range === 'rfc6052') {
    const p = v6.parts;
    return [new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff])];
  }
  return [];
}

export function addressPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): AddressPolicy {
  const cidrs = (env.FLARE_WEBHOOK_ALLOW_CIDRS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const p = env.FLARE_WEBHOOK_ALLOW_PRIVATE;
  return new AddressPolicy({ allowCidrs: cidrs, allowPrivate: p === '1' || p === 'true' });
}
