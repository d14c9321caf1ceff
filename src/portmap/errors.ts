import { TesseraError } from '../util/errors.js';

/**
 * A port-mapping failure: a reply from the LAN that does not parse (`bad-ssdp`, `bad-xml`,
 * `bad-soap`, `bad-natpmp`, `bad-pcp`), a router that refused (`upnp-error`, `natpmp-error`,
 * `pcp-error`) or speaks no PCP (`pcp-unsupported`), one that did not answer (`timeout`), or
 * an address we will not talk to (`not-gateway`).
 */
export class PortMapError extends TesseraError {}
