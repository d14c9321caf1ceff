/**
 * Endgame's order (picker.ts, step 5): which of the blocks already requested from others a
 * peer asks for too. Candidates are numbered in the picker's scan order (newest piece first,
 * top block first); the best have the fewest requesters, then the holder with the longest
 * wait, then the lowest number. Pure.
 *
 * The picker asks for a few blocks at a time out of thousands: with twenty peers, endgame
 * began with 4,000-6,000 blocks requested, and sorting every candidate on each call (an object
 * each) made a third to a half of a 256 MiB download's garbage. So the `k` best are found by
 * counting: requester counts are a handful of small integers and waits one value per holder,
 * ranked once per call, so two passes over small integers find the cut, and only the `k`
 * chosen are sorted.
 */

/**
 * Each holder's rank by wait, longest first (0 is the longest); equal waits share a rank.
 * `waits` maps holder to wait.
 */
export function rankByWait<K>(waits: ReadonlyMap<K, number>): Map<K, number> {
  const byWait = [...waits].sort((x, y) => y[1] - x[1]);
  const ranks = new Map<K, number>();
  let rank = -1;
  for (let i = 0; i < byWait.length; i++) {
    if (i === 0 || byWait[i]![1] !== byWait[i - 1]![1]) rank++;
    ranks.set(byWait[i]![0], rank);
  }
  return ranks;
}

/** Each distinct value among `values[i]` for the `i` that `take` accepts, with its count, in ascending order of value. */
function countsAscending(n: number, values: ArrayLike<number>, take: (i: number) => boolean): [number, number][] {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) if (take(i)) counts.set(values[i]!, (counts.get(values[i]!) ?? 0) + 1);
  return [...counts].sort((x, y) => x[0] - y[0]);
}

/**
 * The numbers of the `k` best of candidates `0..n-1` (fewest `requesters`, then lowest
 * `ranks`, then lowest number), best first: what a stable sort of all `n` would put first.
 * Both arrays hold small integers and may be longer than `n` (they are reused).
 */
export function bestCandidates(requesters: ArrayLike<number>, ranks: ArrayLike<number>, n: number, k: number): number[] {
  const better = (x: number, y: number): number => requesters[x]! - requesters[y]! || ranks[x]! - ranks[y]! || x - y;
  const chosen: number[] = [];
  if (k <= 0) return chosen;
  if (k >= n) {
    for (let i = 0; i < n; i++) chosen.push(i);
    return chosen.sort(better);
  }
  // The requester count of the k-th best: every candidate with fewer is chosen.
  let level = 0;
  let below = 0;
  for (const [value, count] of countsAscending(n, requesters, () => true)) {
    level = value;
    if (below + count >= k) break;
    below += count;
  }
  // Within that count, the rank of the last one chosen, and how many of that rank are.
  let cut = 0;
  let ahead = 0;
  for (const [value, count] of countsAscending(n, ranks, (i) => requesters[i] === level)) {
    cut = value;
    if (below + ahead + count >= k) break;
    ahead += count;
  }
  // Of those with exactly the cut's count and rank, the first ones in scan order fill up to k.
  let atCut = k - below - ahead;
  for (let i = 0; i < n; i++) {
    const r = requesters[i]!;
    if (r < level || (r === level && ranks[i]! < cut)) chosen.push(i);
    else if (r === level && ranks[i] === cut && atCut > 0) {
      chosen.push(i);
      atCut--;
    }
  }
  return chosen.sort(better);
}
