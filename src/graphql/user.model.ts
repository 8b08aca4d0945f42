import { Field, Int, ObjectType } from '@nestjs/graphql';

/** The public face of a user, as `GET /users/me` shows it. */
@ObjectType('User')
export class UserModel {
  @Field(() => Int)
  id!: number;

  @Field(() => String)
  username!: string;
}
