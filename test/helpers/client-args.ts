/**
 * The settings every real client in the tests runs with: bound to 127.0.0.1, DHT, LSD, PEX,
 * UPnP/NAT-PMP and uTP off, plaintext peers allowed. One place, so no test can forget one.
 */

/** aria2c flags shared by seeders and leechers (each adds its ports, folder and role). */
export const ARIA2_LOOPBACK_ARGS: readonly string[] = [
  '--no-conf',
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--disable-ipv6=true',
  '--interface=127.0.0.1',
  '--summary-interval=0',
  '--console-log-level=notice',
  '--file-allocation=none',
  '--bt-save-metadata=false',
  '--bt-min-crypto-level=plain',
  '--bt-require-crypto=false',
];
