/**
 * Field errors in the shape of Kubernetes' field.Error: each becomes one cause of a
 * 422 Invalid Status, and its text follows apimachinery's wording so clients and users
 * see the messages they know.
 */
export const fieldErrorTypes = ['Required', 'Invalid', 'Forbidden', 'NotSupported', 'TypeInvalid', 'TooLong', 'Duplicate', 'NotFound'] as const;
export type FieldErrorType = (typeof fieldErrorTypes)[number];

export interface FieldError {
  type: FieldErrorType;
  /** Path of the field, e.g. `spec.syncs[0].containerPath`. */
  field: string;
  value?: unknown;
  detail?: string;
  /** For NotSupported: the values that would have been accepted. */
  supported?: readonly string[];
}

const causeReasons: Record<FieldErrorType, string> = {
  Required: 'FieldValueRequired',
  Invalid: 'FieldValueInvalid',
  Forbidden: 'FieldValueForbidden',
  NotSupported: 'FieldValueNotSupported',
  TypeInvalid: 'FieldValueTypeInvalid',
  TooLong: 'FieldValueTooLong',
  Duplicate: 'FieldValueDuplicate',
  NotFound: 'FieldValueNotFound',
};

export function causeReason(e: FieldError): string {
  return causeReasons[e.type];
}

/** formatValue prints a value the way apimachinery's field errors do. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '"null"';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(JSON.stringify(v));
}

/** fieldErrorBody is the message without the field path, as used in a Status cause. */
export function fieldErrorBody(e: FieldError): string {
  const detail = e.detail ? `: ${e.detail}` : '';
  switch (e.type) {
    case 'Required':
      return `Required value${detail}`;
    case 'Forbidden':
      return `Forbidden${detail}`;
    case 'NotSupported': {
      const supported = (e.supported ?? []).map((s) => JSON.stringify(s)).join(', ');
      return `Unsupported value: ${formatValue(e.value)}${supported ? `: supported values: ${supported}` : ''}`;
    }
    case 'Duplicate':
      return `Duplicate value: ${formatValue(e.value)}`;
    case 'TooLong':
      return `Too long${detail}`;
    case 'NotFound':
      return `Not found: ${formatValue(e.value)}`;
    case 'TypeInvalid':
    case 'Invalid':
      return `Invalid value: ${formatValue(e.value)}${detail}`;
  }
}

export function fieldErrorMessage(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

export const required = (field: string, detail?: string): FieldError => ({ type: 'Required', field, detail });
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({ type: 'Invalid', field, value, detail });
export const forbidden = (field: string, detail: string): FieldError => ({ type: 'Forbidden', field, detail });
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  type: 'NotSupported',
  field,
  value,
  supported,
});
