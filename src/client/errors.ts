import type { Status, StatusDetails } from '../apis/meta.ts';

/** Reasons of the Kubernetes Status errors that callers branch on. Others pass through as strings. */
export const statusReasons = [
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Invalid',
  'BadRequest',
  'Gone',
  'Expired',
  'Unauthorized',
  'Forbidden',
  'MethodNotAllowed',
  'UnsupportedMediaType',
  'RequestEntityTooLarge',
  'TooManyRequests',
  'Timeout',
  'ServerTimeout',
  'ServiceUnavailable',
  'InternalError',
  'Unknown',
] as const;
export type StatusReason = (typeof statusReasons)[number];

const reasonByCode: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/**
 * ApiError is an error answered by the API server: the HTTP `code` and the Status body's `reason`
 * (or the reason implied by the code when the body has none). Branch on `reason`, never on `message`.
 */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason | string;
  readonly details?: StatusDetails;
  readonly status?: Status;

  constructor(code: number, status: Partial<Status> | undefined, fallbackMessage?: string) {
    super(status?.message || fallbackMessage || `the server answered ${code}`);
    this.name = 'ApiError';
    this.code = code;
    this.reason = status?.reason || reasonByCode[code] || 'Unknown';
    this.details = status?.details;
    this.status = status as Status | undefined;
  }
}

/** toApiError turns a Status body (JSON text or object) and its HTTP code into an ApiError. */
export function toApiError(code: number, body: unknown, fallbackMessage?: string): ApiError {
  let status: Partial<Status> | undefined;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body);
      if (parsed && typeof parsed === 'object') status = parsed as Partial<Status>;
    } catch {
      fallbackMessage = body.trim() || fallbackMessage;
    }
  } else if (body && typeof body === 'object') {
    status = body as Partial<Status>;
  }
  if (status && status.kind !== 'Status') status = undefined;
  return new ApiError(code, status, fallbackMessage);
}

/** isNotFound is true for an ApiError with reason NotFound. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.reason === 'NotFound';
}

/** isConflict is true for an ApiError with reason Conflict (a stale resourceVersion). */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.reason === 'Conflict';
}

/** isAlreadyExists is true for an ApiError with reason AlreadyExists. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.reason === 'AlreadyExists';
}

/** isGone is true when the server no longer has the requested history (410: Gone or Expired). */
export function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.code === 410;
}
