/**
 * `nestjs-access-tokens/testing`: helpers for an app's own tests. Kept out of the main entry so
 * that production code never loads them.
 */
export { actingAs, revokeActingAs, type ActingAsOptions } from './acting-as.js';
export { ManualClock } from './manual-clock.js';
