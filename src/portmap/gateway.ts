/**
 * The default IPv4 gateway, read from Linux's `/proc/net/route`: the only address the
 * PCP and NAT-PMP clients talk to, and the one an SSDP answer must come from.
 */
import { readFile } from 'node:fs/promises';

const MAX_ROUTE_FILE = 256 * 1024;

/**
 * The gateway of the default route (destination 0, mask 0, flag RTF_GATEWAY) with the lowest
 * metric, from the text of `/proc/net/route` (addresses are little-endian hex); undefined when
 * there is none.
 */
export function parseDefaultGateway(table: string): string | undefined {
  let best: { gw: string; metric: number } | undefined;
  for (const line of table.slice(0, MAX_ROUTE_FILE).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [, dest, gw, flags, , , metric, mask] = f;
    if (dest !== '00000000' || mask !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(gw!)) continue;
    // RTF_UP | RTF_GATEWAY
    if ((parseInt(flags!, 16) & 0x3) !== 0x3) continue;
    const n = parseInt(gw!, 16);
    const address = `${n & 0xff}.${(n >>> 8) & 0xff}.${(n >>> 16) & 0xff}.${n >>> 24}`;
    const m = Number(metric);
    if (best === undefined || m < best.metric) best = { gw: address, metric: m };
  }
  return best?.gw;
}

export async function defaultGateway(routeFile = '/proc/net/route'): Promise<string | undefined> {
  try {
    return parseDefaultGateway(await readFile(routeFile, 'latin1'));
  } catch {
    return undefined;
  }
}
