import bcrypt from 'bcrypt';

/**
 * bcrypt, the hash nestjs-access-tokens checks where it takes a password itself (HTTP Basic on
 * `POST /api/tokens/generate`, `POST /api/auth/login`): the app's own login route checks the same.
 */
const ROUNDS = 10;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, ROUNDS);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}
