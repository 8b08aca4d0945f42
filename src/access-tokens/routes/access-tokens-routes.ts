import type { Provider, Type } from '@nestjs/common';
import type { ResolvedRoutesOptions } from './access-tokens-routes.options.js';
import { routesDependenciesProvider } from './routes-validation.pipe.js';
import { sessionRoutesController } from './session-routes.controller.js';
import { tokenRoutesController } from './token-routes.controller.js';

/**
 * What `forRoot({ routes })` adds to the module: the routes' controllers, made for this call, and
 * the start-up check of the packages they validate with. Nothing when no routes are asked for.
 *
 * Controllers made in `forRoot` rather than mounted with `RouterModule`: the path is not all that
 * is the app's to choose, the scopes are too, and both are metadata of a class; with a class of its
 * own per call, two apps in one process with different options never share one.
 */
export function routesDefinition(routes: ResolvedRoutesOptions | null): {
  controllers: Type<unknown>[];
  providers: Provider[];
} {
  if (routes === null) return { controllers: [], providers: [] };
  const { sessionsPath } = routes;
  return {
    controllers: [
      tokenRoutesController(routes),
      ...(sessionsPath === null ? [] : [sessionRoutesController({ ...routes, sessionsPath })]),
    ],
    providers: [routesDependenciesProvider],
  };
}
