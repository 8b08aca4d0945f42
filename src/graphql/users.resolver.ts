import { Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from 'nestjs-access-tokens';
import { publicUser, User } from '../users/user.entity.js';
import { UserModel } from './user.model.js';

/** The caller, as `GET /users/me` shows them. */
@Resolver(() => UserModel)
export class UsersResolver {
  /** Any valid token, no scope, as `GET /users/me`. */
  @Query(() => UserModel, { description: 'The user of the token' })
  me(@CurrentUser() user: User): UserModel {
    return publicUser(user);
  }
}
