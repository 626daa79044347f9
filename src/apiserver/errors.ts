/**
 * ApiError carries a Kubernetes Status body. Every failure the server answers is one of
 * these, built by the constructors below with apimachinery's reasons and wording.
 */
import type { KindDef } from '../apis/kind.ts';
import { fieldErrorBody, fieldErrorMessage, causeReason, type FieldError } from '../apis/field-errors.ts';
import type { Status, StatusDetails } from '../apis/meta.ts';

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: StatusDetails;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) s.details = this.details;
    return s;
  }
}

const qualified = (def: KindDef) => `${def.plural}.tilt.dev`;
const resourceDetails = (def: KindDef, name: string): StatusDetails => ({ name, group: 'tilt.dev', kind: def.plural });

export const notFound = (def: KindDef, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(def)} "${name}" not found`, resourceDetails(def, name));

export const pathNotFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

export const alreadyExists = (def: KindDef, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(def)} "${name}" already exists`, resourceDetails(def, name));

export const conflict = (def: KindDef, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(def)} "${name}": ${why}`, resourceDetails(def, name));

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

export const methodNotAllowed = (verb: string, resource: string) =>
  new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${resource}"`, { group: 'tilt.dev', kind: resource });

export const unsupportedMediaType = (got: string, accepted: string[]) =>
  new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, {});

export const notAcceptable = (message: string) => new ApiError(406, 'NotAcceptable', message);

export const tooLarge = (limit: number) =>
  new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);

export const expired = (message: string) => new ApiError(410, 'Expired', message);

export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');

export const forbidden = (message: string) => new ApiError(403, 'Forbidden', message);

export const internalError = (err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  return new ApiError(500, 'InternalError', `Internal error occurred: ${msg}`, { causes: [{ message: msg }] });
};

/** invalid is the 422 answer for field errors, named after the Kind as kube does. */
export function invalid(kind: string, name: string, errs: FieldError[], group = 'tilt.dev'): ApiError {
  const list = errs.map(fieldErrorMessage);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    group: group || undefined,
    kind,
    causes: errs.map((e) => ({ reason: causeReason(e), message: fieldErrorBody(e), field: e.field })),
  });
}
