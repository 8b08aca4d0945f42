import { applyDecorators, Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import { CurrentToken, Public, type VerifiedAccessToken } from 'nestjs-access-tokens';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's files, by the name they are served under. */
const FILES = { html: 'index.html', script: 'settings-page.js', style: 'settings-page.css' } as const;

/**
 * Where the page's files are. tsc copies no HTML, CSS or browser script to `dist/`, so compiled
 * (`dist/src/settings-page/`) this module reads them from the source tree, as it does from
 * `src/settings-page/` under Jest: `npm start` serves them from a clean clone with no copy step.
 */
function publicDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'public'), join(here, '..', '..', '..', 'src', 'settings-page', 'public')];
  const found = candidates.find((directory) => Object.values(FILES).every((file) => existsSync(join(directory, file))));
  if (!found) throw new SettingsPageFilesMissingError(candidates);
  return found;
}

/** The demo started without the page's files next to its sources: run it from a full checkout. */
export class SettingsPageFilesMissingError extends Error {
  readonly code = 'settings_page_files_missing';
  override readonly name = 'SettingsPageFilesMissingError';

  constructor(searched: readonly string[]) {
    super(
      `The token settings page's files (${Object.values(FILES).join(', ')}) are in none of ${searched.join(', ')}: ` +
        'run the demo from a checkout of the repository, which has them in src/settings-page/public/',
    );
  }
}

/**
 * What a browser may do with the page: load its own script, style and API, nothing inline (a
 * token name that got into the markup would not run), no plugins, no framing, no `<base>`, and no
 * form submitted by the browser itself (the script sends them; without it a form would put the
 * password in a URL).
 */
export const SETTINGS_PAGE_CSP =
  "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

/**
 * A static file: public, its type stated and never guessed (`nosniff`), under the page's CSP. The
 * HTML is never stored (`no-store`): it is what shows a signed-in user's tokens; the script and
 * style are revalidated at each load (`no-cache`), so a new demo never runs with an old script.
 * Not part of the API, so not in its OpenAPI document (`/docs`).
 */
const StaticFile = (contentType: string, cacheControl: 'no-store' | 'no-cache'): MethodDecorator =>
  applyDecorators(
    Public(),
    ApiExcludeEndpoint(),
    Header('Content-Type', contentType),
    Header('Cache-Control', cacheControl),
    Header('X-Content-Type-Options', 'nosniff'),
    Header('Content-Security-Policy', SETTINGS_PAGE_CSP),
    // frame-ancestors for the browsers that read only this.
    Header('X-Frame-Options', 'DENY'),
    Header('Referrer-Policy', 'no-referrer'),
  );

/**
 * The demo's token settings page at `/`: sign in, list, create (with usage limits), edit (name and
 * limits), pause, resume, rotate and revoke personal tokens, through the same REST routes any
 * client uses. Static files,
 * read once at start, on Express and Fastify alike (Nest sets the headers through the adapter and
 * sends the strings as they are).
 */
@Controller()
export class SettingsPageController {
  private readonly files: Record<keyof typeof FILES, string>;

  constructor() {
    const directory = publicDirectory();
    this.files = {
      html: readFileSync(join(directory, FILES.html), 'utf8'),
      script: readFileSync(join(directory, FILES.script), 'utf8'),
      style: readFileSync(join(directory, FILES.style), 'utf8'),
    };
  }

  @StaticFile('text/html; charset=utf-8', 'no-store')
  @Get()
  page(): string {
    return this.files.html;
  }

  @StaticFile('text/javascript; charset=utf-8', 'no-cache')
  @Get(`settings/${FILES.script}`)
  script(): string {
    return this.files.script;
  }

  @StaticFile('text/css; charset=utf-8', 'no-cache')
  @Get(`settings/${FILES.style}`)
  style(): string {
    return this.files.style;
  }

  /**
   * The scopes the caller may put on a new token: those its token has now, intersected with the
   * user's permissions, so for a login session everything the user may do. The page offers these.
   */
  @Get('settings/scopes')
  scopes(@CurrentToken() current: VerifiedAccessToken): { scopes: string[] } {
    return { scopes: [...current.scopes].sort() };
  }
}
