import { describe, expect, it } from '@jest/globals';
import { addUserAccessor } from './access-token.authenticator.js';

describe('the request user accessor', () => {
  it('keeps a user per request, read and written as request.user', () => {
    const prototype = {};
    addUserAccessor(prototype);
    const [one, other] = [Object.create(prototype) as { user?: unknown }, Object.create(prototype) as { user?: unknown }];
    one.user = { id: 1 };
    expect(one.user).toEqual({ id: 1 });
    expect(other.user).toBeUndefined();
    one.user = null;
    expect(one.user).toBeNull();
  });

  it('leaves alone a prototype that has a user of its own', () => {
    const prototype = { user: 'app' };
    addUserAccessor(prototype);
    expect(Object.getOwnPropertyDescriptor(prototype, 'user')).toEqual({ value: 'app', writable: true, enumerable: true, configurable: true });
  });
});
