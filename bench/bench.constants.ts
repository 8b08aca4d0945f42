/** The HS256 secret of the benchmark's JWT route; bench-only. */
export const BENCH_JWT_SECRET = 'bench-only-secret-not-for-production';
