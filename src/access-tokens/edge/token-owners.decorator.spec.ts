import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import type { VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { InvalidOptionsError, TokenOwnerError } from '../core/access-tokens.errors.js';
import { ownerRefusal, TokenOwners } from './token-owners.decorator.js';

const token = (kind: 'user' | 'team') => ({ owner: { kind, entity: {} } }) as unknown as VerifiedAccessToken;
const contextOf = (controller: object, handler: object) =>
  ({ getClass: () => controller, getHandler: () => handler }) as unknown as ExecutionContext;
const reasonOf = (kind: 'user' | 'team', context: ExecutionContext) => ownerRefusal(token(kind), context)?.code ?? null;

class People {
  show(): void {}
}

@TokenOwners('team')
class Teams {
  show(): void {}
  @TokenOwners('user', 'team')
  both(): void {}
  @TokenOwners('user')
  people(): void {}
}

describe('@TokenOwners() and the refusal of a token by its owner', () => {
  it("takes personal tokens only on a route without it: a team's token is personal_token_required", () => {
    const context = contextOf(People, People.prototype.show);
    expect(reasonOf('user', context)).toBeNull();
    expect(reasonOf('team', context)).toBe('personal_token_required');
    expect(ownerRefusal(token('team'), context)).toBeInstanceOf(TokenOwnerError);
  });

  it("reads the controller's, and the handler's over it", () => {
    expect(reasonOf('team', contextOf(Teams, Teams.prototype.show))).toBeNull();
    expect(reasonOf('user', contextOf(Teams, Teams.prototype.show))).toBe('team_token_required');
    expect(reasonOf('user', contextOf(Teams, Teams.prototype.both))).toBeNull();
    expect(reasonOf('team', contextOf(Teams, Teams.prototype.both))).toBeNull();
    expect(reasonOf('team', contextOf(Teams, Teams.prototype.people))).toBe('personal_token_required');
  });

  it('answers the same the second time, from what it remembers of the route', () => {
    const context = contextOf(Teams, Teams.prototype.show);
    expect([reasonOf('user', context), reasonOf('user', context)]).toEqual([
      'team_token_required',
      'team_token_required',
    ]);
  });

  it('takes only the kinds it knows', () => {
    expect(() => TokenOwners()).toThrow(InvalidOptionsError);
    expect(() => TokenOwners('robot' as 'user')).toThrow("@TokenOwners() takes 'user', 'team' or both");
  });
});
