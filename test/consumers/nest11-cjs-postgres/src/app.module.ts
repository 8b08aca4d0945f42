import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokensModule } from 'nestjs-access-tokens';
import { AppController } from './app.controller';
import { ReportsController } from './reports/reports.controller';
import { User } from './users/user.entity';
import { UsersService } from './users/users.service';

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      autoLoadEntities: true,
      synchronize: true,
    }),
    TypeOrmModule.forFeature([User]),
    AccessTokensModule.forRoot({
      // At least 32 random bytes (`openssl rand -base64 32`), from the environment, never the code.
      secret: process.env.TOKEN_SECRET,
      user: {
        entity: User,
        idField: 'uuid',
        usernameField: 'email',
        passwordHashField: 'pwd',
        blockedField: 'disabled',
        permissions: (user: User) => user.permissions,
      },
      // The module's token and login routes: POST /tokens/generate (HTTP Basic e-mail and password,
      // or a token), GET and POST /tokens, ...; POST /auth/login, /auth/refresh, /auth/logout.
      routes: { path: 'tokens', sessionsPath: 'auth', password: true },
    }),
  ],
  controllers: [AppController, ReportsController],
  providers: [UsersService],
})
export class AppModule {}
