import { ArgsType, Field } from '@nestjs/graphql';
import { LoginDto, RefreshDto } from '../auth/auth.dto.js';

/** `login(username, password)`: the rules of `POST /auth/login`'s body. */
@ArgsType()
export class LoginArgs extends LoginDto {
  @Field(() => String)
  declare username: string;

  @Field(() => String)
  declare password: string;
}

/** `refresh(refreshToken)`: the rules of `POST /auth/refresh`'s body. */
@ArgsType()
export class RefreshArgs extends RefreshDto {
  @Field(() => String)
  declare refreshToken: string;
}
