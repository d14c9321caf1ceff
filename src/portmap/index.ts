/**
 * Port mapping at the home router: UPnP IGD (SSDP, device description, SOAP), PCP (RFC 6887)
 * and NAT-PMP (RFC 6886). The codecs (`ssdp.ts`, `igd-xml.ts`, `natpmp-codec.ts`,
 * `pcp-codec.ts`, `gateway.ts`) are pure and bounded, since any host on the LAN can answer;
 * `upnp.ts`, `pcp.ts` and `natpmp.ts` do the I/O and talk only to the default gateway (and
 * the SSDP multicast group); `PortMapper` ties them together for the session. Imports `util`
 * only.
 */
export { PortMapper, type PortMapperOptions, type PortMapping, type PortMapEvent, type PortMapMethod } from './port-mapper.js';
export { PortMapError } from './errors.js';
export { UpnpClient, UpnpFault, discoverGateway, type SsdpTarget } from './upnp.js';
export { NatPmpClient } from './natpmp.js';
export { PcpClient, type PcpGrant } from './pcp.js';
export { defaultGateway, parseDefaultGateway } from './gateway.js';
export { encodeMSearch, parseSsdpReply, type SsdpReply } from './ssdp.js';
export { parseDescription, parseSoapReply, type WanService, type Protocol } from './igd-xml.js';
export { decodeNatPmpReply, encodeMapRequest, encodeExternalAddressRequest, type NatPmpReply } from './natpmp-codec.js';
export { decodePcpReply, encodePcpMapRequest, type PcpMapRequest, type PcpReply } from './pcp-codec.js';
