import { BlockList, isIP } from 'node:net';

/** Loopback: 127.0.0.0/8, ::1, and 127.0.0.0/8 written as IPv4-mapped IPv6. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** A host as URLs and allow-lists may write it: lower case, IPv6 without brackets. */
export const normalizeHost = (host: string): string =>
  host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Why webhooks may not be sent to `url`, or undefined when they may: loopback, or a host in `allowedHosts`. Decided
 * on the URL as written (WHATWG parsing already turns `2130706433` or `0x7f.1` into `127.0.0.1`), never by resolving
 * or connecting, and every refusal reads the same: the answer says nothing about what listens there.
 */
export function webhookTargetRefusal(url: string, allowedHosts: readonly string[]): string | undefined {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return 'must be an http(s) URL';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials';
  const host = normalizeHost(parsed.hostname);
  if (isLoopback(host) || allowedHosts.includes(host)) return undefined;
  return 'must point at loopback (127.0.0.1, ::1, localhost) or at a host allowed by webhookAllowedHosts (SANDBOX_WEBHOOK_ALLOWED_HOSTS)';
}
