// Times are shown in UTC, with the epoch number when the server told us the epoch clock.
import { config } from './config.js';

/** Unix seconds -> "2026-12-01 10:00 UTC" ("—" for none). */
export function utc(ts, { seconds = false } = {}) {
  if (ts === null || ts === undefined || ts === '') return '—';
  const iso = new Date(Number(ts) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)} UTC`;
}

/** The epoch containing unix time ``ts``, or null without an epoch clock. */
export function epochAt(ts, clock = config.epoch) {
  if (!clock || ts === null || ts === undefined) return null;
  const t = Number(ts);
  if (t < clock.genesis) return null;
  return Math.floor((t - clock.genesis) / clock.seconds);
}

/** "2026-12-01 10:00 UTC · epoch 12" (the epoch given, else derived from the clock, else left out). */
export function when(ts, epoch = null) {
  if (ts === null || ts === undefined) return '—';
  const n = epoch ?? epochAt(ts);
  return n === null ? utc(ts) : `${utc(ts)} · epoch ${n}`;
}

/** Seconds -> "2 d 3 h", "4 h 5 min", "6 min 7 s", "now". */
export function duration(seconds) {
  let s = Math.max(0, Math.floor(seconds));
  if (s === 0) return 'now';
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s} s`;
  return `${s} s`;
}

/** Now, in unix seconds. */
export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/** An ISO string for <time datetime>. */
export function isoOf(ts) {
  return new Date(Number(ts) * 1000).toISOString();
}
