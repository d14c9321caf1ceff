/**
 * `torrent-get` fields, after Transmission's RPC specification: each name maps to how its
 * value is read from a torrent's view. Names not listed here are left out of the answer, as
 * Transmission does with fields it does not know.
 */
import { filesOf, magnetOf, trackersOf, viewOf, type TorrentView } from './view.js';

type Getter = (v: TorrentView, now: number) => unknown;

const seconds = (ms: number): number => Math.floor(ms / 1000);

export const TORRENT_FIELDS: Readonly<Record<string, Getter>> = {
  id: (v) => v.entry.id,
  hashString: (v) => v.entry.infoHash,
  name: (v) => v.name,
  downloadDir: (v) => v.entry.downloadDir,
  status: (v) => v.status,
  error: (v) => v.error,
  errorString: (v) => v.errorString,
  totalSize: (v) => v.totalSize,
  sizeWhenDone: (v) => v.sizeWhenDone,
  leftUntilDone: (v) => v.leftUntilDone,
  percentDone: (v) => v.percentDone,
  percentComplete: (v) => (v.totalSize > 0 ? v.haveValid / v.totalSize : 0),
  haveValid: (v) => v.haveValid,
  haveUnchecked: () => 0,
  desiredAvailable: (v) => v.leftUntilDone,
  corruptEver: (v) => v.entry.handle.stats().hashFailures * v.pieceSize,
  downloadedEver: (v) => v.entry.downloadedEver,
  uploadedEver: (v) => v.entry.uploadedEver,
  uploadRatio: (v) => {
    const down = v.entry.downloadedEver || v.haveValid;
    return down > 0 ? v.entry.uploadedEver / down : -1;
  },
  rateDownload: (v) => v.rateDownload,
  rateUpload: (v) => v.rateUpload,
  eta: (v) => v.eta,
  etaIdle: () => -1,
  isFinished: (v) => v.entry.finished,
  isStalled: (v) => v.status === 4 && v.peersConnected === 0,
  isPrivate: (v) => v.entry.handle.metainfo?.info.private ?? false,
  metadataPercentComplete: (v) => v.metadataPercentComplete,
  recheckProgress: (v) => v.recheckProgress,
  peersConnected: (v) => v.peersConnected,
  peersGettingFromUs: (v) => (v.rateUpload > 0 ? v.peersConnected : 0),
  peersSendingToUs: (v) => (v.rateDownload > 0 ? v.peersConnected : 0),
  peersFrom: (v) => {
    const f = v.entry.handle.stats().found;
    return { fromCache: 0, fromDht: f.dht, fromIncoming: f.incoming, fromLpd: f.lsd, fromLtep: f.pex, fromPex: f.pex, fromTracker: f.tracker };
  },
  'peer-limit': () => 60,
  maxConnectedPeers: () => 60,
  pieceCount: (v) => v.pieceCount,
  pieceSize: (v) => v.pieceSize,
  addedDate: (v) => v.entry.addedDate,
  doneDate: (v) => v.entry.doneDate,
  startDate: (v) => (v.entry.activeSince > 0 ? seconds(v.entry.activeSince) : 0),
  activityDate: (v, now) => (v.rateDownload > 0 || v.rateUpload > 0 ? seconds(now) : v.entry.doneDate),
  editDate: () => 0,
  dateCreated: (v) => v.entry.handle.metainfo?.creationDate ?? 0,
  secondsDownloading: (v, now) => (v.state === 'downloading' && v.entry.activeSince > 0 ? seconds(now - v.entry.activeSince) : 0),
  secondsSeeding: (v, now) => (v.state === 'seeding' && v.entry.activeSince > 0 ? seconds(now - v.entry.activeSince) : 0),
  comment: (v) => v.entry.handle.metainfo?.comment ?? '',
  creator: (v) => v.entry.handle.metainfo?.createdBy ?? '',
  magnetLink: (v) => magnetOf(v.entry),
  torrentFile: () => '',
  queuePosition: (v) => v.entry.id,
  downloadLimit: (v) => Math.round(v.entry.downLimit / 1000),
  downloadLimited: (v) => v.entry.downLimit > 0,
  uploadLimit: (v) => Math.round(v.entry.upLimit / 1000),
  uploadLimited: (v) => v.entry.upLimit > 0,
  honorsSessionLimits: () => true,
  bandwidthPriority: () => 0,
  seedRatioLimit: (v) => v.entry.seed.ratio,
  seedRatioMode: (v) => v.entry.seed.ratioMode,
  seedIdleLimit: (v) => v.entry.seed.idleMinutes,
  seedIdleMode: (v) => v.entry.seed.idleMode,
  manualAnnounceTime: () => -1,
  labels: () => [],
  webseeds: (v) => [...(v.entry.handle.metainfo?.urlList ?? [])],
  webseedsSendingToUs: () => 0,
  'file-count': (v) => v.entry.handle.files().length,
  files: (v) => filesOf(v.entry).map((f) => ({ name: f.path, length: f.length, bytesCompleted: f.bytesCompleted })),
  fileStats: (v) => filesOf(v.entry).map((f) => ({ bytesCompleted: f.bytesCompleted, wanted: f.wanted, priority: f.priority })),
  // Transmission 3.00 sends these as numbers, and its transmission-remote reads them so.
  wanted: (v) => filesOf(v.entry).map((f) => (f.wanted ? 1 : 0)),
  priorities: (v) => filesOf(v.entry).map((f) => f.priority),
  peers: (v) =>
    [...v.entry.peers.values()].map((p) => ({
      address: p.host,
      port: p.port,
      clientName: '',
      clientIsChoked: false,
      clientIsInterested: false,
      flagStr: p.incoming ? 'I' : '',
      isDownloadingFrom: false,
      isEncrypted: false,
      isIncoming: p.incoming,
      isUploadingTo: false,
      isUTP: false,
      peerIsChoked: false,
      peerIsInterested: false,
      progress: 0,
      rateToClient: 0,
      rateToPeer: 0,
    })),
  trackers: (v) => trackersOf(v.entry).map((t) => ({ id: t.id, tier: t.tier, announce: t.announce, scrape: '', sitename: t.host })),
  trackerStats: (v) =>
    trackersOf(v.entry).map((t) => ({
      id: t.id,
      tier: t.tier,
      announce: t.announce,
      scrape: '',
      host: t.host,
      sitename: t.host,
      isBackup: false,
      announceState: 0,
      scrapeState: 0,
      hasAnnounced: v.state !== 'paused' && v.state !== 'stopped',
      hasScraped: false,
      lastAnnounceResult: v.entry.trackerMessage === '' ? 'Success' : v.entry.trackerMessage,
      lastAnnounceSucceeded: v.entry.trackerMessage === '',
      lastAnnounceTimedOut: false,
      lastAnnounceTime: 0,
      lastAnnounceStartTime: 0,
      lastAnnouncePeerCount: 0,
      nextAnnounceTime: 0,
      lastScrapeResult: '',
      lastScrapeSucceeded: false,
      lastScrapeTimedOut: false,
      lastScrapeTime: 0,
      lastScrapeStartTime: 0,
      nextScrapeTime: 0,
      seederCount: -1,
      leecherCount: -1,
      downloadCount: -1,
    })),
};

/** The named fields of each torrent, as objects (or as Transmission's `table` format: a header row, then one row per torrent). */
export function torrentGet(views: readonly TorrentView[], fields: readonly string[], table: boolean, now: number): unknown[] {
  const known = [...new Set(fields)].filter((f) => Object.hasOwn(TORRENT_FIELDS, f));
  if (table) return [known, ...views.map((v) => known.map((f) => TORRENT_FIELDS[f]!(v, now)))];
  return views.map((v) => Object.fromEntries(known.map((f) => [f, TORRENT_FIELDS[f]!(v, now)])));
}

export { viewOf };
