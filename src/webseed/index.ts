/**
 * Web seeds (BEP 19 `url-list`): HTTP(S) servers holding the torrent's files, used as
 * peer-like sources of the swarm. This layer owns URL building, range planning, the HTTP
 * exchange and the back-off policy; it reaches the swarm only through `BlockSourceHost`
 * and never touches peers, storage or the session.
 */
export { WebSeeds, MAX_WEB_SEEDS } from './web-seeds.js';
export type { WebSeedOptions, WebSeedStats, WebSeedState, WebSeedTorrent } from './seed.js';
export { WebSeedError, type WebSeedErrorCode } from './errors.js';
export { fileUrl, encodeComponent, parseWebSeedUrl } from './url.js';
