import { SetMetadata } from '@nestjs/common';
import { ROUTE_ANSWER_METADATA } from '../access-tokens.internal-constants.js';

/**
 * The shapes the ready-made routes answer with, by the name `nestjs-access-tokens/swagger`
 * documents each under in `components.schemas`. The routes name them rather than refer to a model
 * class: only the swagger entry may load `@nestjs/swagger`, an optional peer.
 */
export type RouteAnswerModel =
  'AccessTokenView' | 'CreatedToken' | 'GeneratedToken' | 'TokenPair' | 'LoginSession' | 'RevocationNotice';

/** What a ready-made route's successful answer holds: one `model`, or a JSON array of them. */
export interface RouteAnswer {
  readonly model: RouteAnswerModel;
  readonly array: boolean;
}

/** Marks a handler with the shape of its successful answer, for the OpenAPI document. */
export const Answers = (model: RouteAnswerModel, options: { array?: boolean } = {}): MethodDecorator =>
  SetMetadata(ROUTE_ANSWER_METADATA, Object.freeze({ model, array: options.array ?? false } satisfies RouteAnswer));
