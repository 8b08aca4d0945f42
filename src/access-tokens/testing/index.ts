/**
 * `nestjs-access-tokens/testing`: helpers for an app's own tests. Kept out of the main entry so
 * that production code never loads them.
 */
export { ManualClock } from './manual-clock.js';
