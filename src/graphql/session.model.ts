import { Field, Int, ObjectType } from '@nestjs/graphql';
import { UserModel } from './user.model.js';

/** A login session's tokens, as `POST /auth/login` and `POST /auth/refresh` answer them. */
@ObjectType('Session')
export class SessionModel {
  @Field(() => String, {
    description: 'Authenticates requests for expiresIn seconds, as "Authorization: Bearer <accessToken>"',
  })
  accessToken!: string;

  @Field(() => String, {
    description: 'Gets a new pair once, from the refresh mutation; presented again, it ends the session',
  })
  refreshToken!: string;

  @Field(() => Int, { description: 'Seconds the access token lasts' })
  expiresIn!: number;

  @Field(() => UserModel, { nullable: true, description: 'Who signed in: on login; null on refresh' })
  user?: UserModel | null;
}
