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

/** aria2c refusing every peer that does not speak MSE with RC4 (later flags override the above). */
export const ARIA2_REQUIRE_CRYPTO_ARGS: readonly string[] = ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'];

/** lt-seed.py: uTP only (BEP 29), TCP off both ways. */
export const LT_UTP_ONLY_ARGS: readonly string[] = [
  '--set',
  'enable_outgoing_utp=true',
  '--set',
  'enable_incoming_utp=true',
  '--set',
  'enable_outgoing_tcp=false',
  '--set',
  'enable_incoming_tcp=false',
];

/** lt-seed.py: encryption forced both ways (pe_forced) and RC4 only (allowed_enc_level=2: pe_rc4). */
export const LT_FORCED_ENCRYPTION_ARGS: readonly string[] = ['--set', 'out_enc_policy=0', '--set', 'in_enc_policy=0', '--set', 'allowed_enc_level=2'];
