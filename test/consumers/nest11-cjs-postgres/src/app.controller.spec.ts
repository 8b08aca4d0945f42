import { Test, TestingModule } from '@nestjs/testing';
import { AccessTokenGuard, ScopesGuard } from 'nestjs-access-tokens';
import { AppController } from './app.controller';

describe('AppController', () => {
  let app: TestingModule;

  beforeAll(async () => {
    app = await Test.createTestingModule({
      controllers: [AppController],
    })
      // A unit test has no database: the guards, which need the module, are the e2e tests' business.
      .overrideGuard(AccessTokenGuard)
      .useValue({ canActivate: () => true })
      .overrideGuard(ScopesGuard)
      .useValue({ canActivate: () => true })
      .compile();
  });

  describe('getHello', () => {
    it('should return "Hello World!"', () => {
      const appController = app.get(AppController);
      expect(appController.getHello()).toBe('Hello World!');
    });
  });

  describe('me', () => {
    it('answers the current user without the password hash', () => {
      const appController = app.get(AppController);
      const user = { uuid: 'u-1', email: 'ann@example.com', pwd: '$2b$10$hash', disabled: false, permissions: [] };
      expect(appController.me(user)).toEqual({ uuid: 'u-1', email: 'ann@example.com' });
    });
  });
});
