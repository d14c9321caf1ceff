/**
 * The daemon layer: a long-running client of the session (`Daemon`), its saved state, watch
 * folder, and HTTP faces — Transmission's RPC, Tessera's own API with server-sent events, and
 * the web interface (static files in ./web). It uses the session's public surface only, and
 * nothing below the session imports it.
 */
export { Daemon, type AddRequest, type AddResult, type AddSource, type DaemonStartOptions } from './daemon.js';
export { DaemonServer, type ServerOptions } from './server.js';
export { defaultConfigDir, mergeSettings, parseSettings, readSettingsFile, SETTINGS_FILE, type DaemonSettings } from './config.js';
export { DaemonError, type DaemonErrorCode } from './errors.js';
