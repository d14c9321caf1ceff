/**
 * Run inside the client network namespace of test/portmap/miniupnpd-netns.test.ts: Tessera's
 * port-mapping code against the real router there. Prints one JSON line with what each step
 * found (or the error it met), then exits. Every wait is bounded by the clients' own timeouts.
 */
import { NatPmpClient, PcpClient, PortMapper, type PortMapEvent, UpnpClient, defaultGateway, discoverGateway } from '../../src/portmap/index.js';
import { systemClock } from '../../src/util/clock.js';

const clock = systemClock;
const out: Record<string, unknown> = {};
const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
  try {
    out[name] = { ok: await fn() };
  } catch (err) {
    out[name] = { error: err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err) };
  }
};

const gateway = await defaultGateway();
out.gateway = gateway;
if (gateway !== undefined) {
  let client: UpnpClient | undefined;
  await step('ssdp', async () => {
    const r = await discoverGateway({ gateway, clock, timeoutMs: 4000 });
    client = await UpnpClient.fromDescription(r.location, { clock, timeoutMs: 4000 });
    return { location: r.location.href, st: r.st, server: r.server, service: client.service.serviceType, control: client.service.controlUrl.href, local: client.localAddress };
  });
  if (client !== undefined) {
    const c = client;
    await step('externalAddress', () => c.externalAddress());
    await step('add', () => c.addMapping({ protocol: 'TCP', externalPort: 6881, internalPort: 6881, description: 'probe', leaseSeconds: 600 }));
  }
  const pmp = new NatPmpClient({ gateway, clock });
  await step('natpmpExternal', () => pmp.externalAddress());
  await step('natpmpMap', () => pmp.map('UDP', 6881, 6881, 600));
  pmp.close();
  const pcp = new PcpClient({ gateway, clock });
  await step('pcpMap', () => pcp.map('TCP', 6881, 6881, 600));
  pcp.close();
  const events: PortMapEvent[] = [];
  const mapper = new PortMapper({ tcpPort: 6881, udpPort: 6881, clock, onEvent: (e) => events.push(e) });
  await mapper.start();
  await mapper.close();
  out.mapper = { events, external: mapper.externalAddress ?? null, mappings: mapper.mappings };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
