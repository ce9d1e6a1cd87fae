/**
 * A command that breaks a rule is rejected with a DomainRejection: a machine-readable code, a sentence
 * for humans, and JSON details. Command handlers throw it (CommandBus.execute rejects with it); the HTTP
 * layer maps the code with REJECTION_HTTP_STATUS and the device gateway sends it back as an MQTT reply.
 * Deciders return it instead of throwing, so a rule check is a plain value in tests.
 */
import type { JsonObject } from './json';

/** Every rejection code and the HTTP status it becomes: 404 unknown aggregate, 409 state conflict, 422 invalid input. */
export const REJECTION_HTTP_STATUS = {
  // shared
  INVALID_COMMAND: 422,
  CONCURRENCY_CONFLICT: 409,
  // hypervisor (device)
  DEVICE_NOT_PROVISIONED: 404,
  DEVICE_ALREADY_PROVISIONED: 409,
  INVALID_BOARD_INVENTORY: 422,
  INVALID_DEVICE_ATTRIBUTES: 422,
  DEVICE_ATTRIBUTE_LIMIT_EXCEEDED: 422,
  // partition plan
  PARTITION_PLAN_NOT_FOUND: 404,
  PARTITION_PLAN_REVISION_NOT_FOUND: 404,
  PARTITION_PLAN_ALREADY_EXISTS: 409,
  PLAN_REVISION_CONFLICT: 409,
  INVALID_PARTITION_PLAN: 422,
  PLAN_DEVICE_CLASS_MISMATCH: 422,
  DEVICE_BOARD_UNKNOWN: 409,
  PLAN_DOES_NOT_FIT_BOARD: 422,
  // service VM
  SERVICE_VM_NOT_FOUND: 404,
  SERVICE_VM_NOT_RUNNING: 409,
  // RT VM
  RTVM_NOT_REGISTERED: 404,
  RTVM_ALREADY_REGISTERED: 409,
  RTVM_NOT_POST_LAUNCHED: 409,
  RTVM_NOT_STOPPED: 409,
  RTVM_ALREADY_STOPPED: 409,
  RTVM_NOT_RUNNING: 409,
  RTVM_OPERATION_PENDING: 409,
  // VM that is not an RTVM (vm-<deviceId>.<vmName>)
  VM_NOT_REGISTERED: 404,
  SERVICE_VM_NOT_ACRNCTL_MANAGED: 409,
  RTVM_FORCE_STOP_UNSUPPORTED: 422,
  // release
  RELEASE_NOT_FOUND: 404,
  RELEASE_IMAGE_NOT_FOUND: 404,
  RELEASE_ALREADY_EXISTS: 409,
  RELEASE_IMAGE_ALREADY_EXISTS: 409,
  RELEASE_IMAGE_TARGET_TAKEN: 409,
  RELEASE_NOT_DRAFT: 409,
  RELEASE_NOT_PUBLISHED: 409,
  RELEASE_YANKED: 409,
  INVALID_RELEASE_VERSION: 422,
  RELEASE_PLAN_MISMATCH: 422,
  HYPERVISOR_BOARD_MISMATCH: 422,
  RTVM_NOT_IN_PLAN: 422,
  RELEASE_HAS_NO_IMAGES: 422,
  IMAGE_UPLOAD_MISSING: 422,
  IMAGE_HASH_MISMATCH: 422,
  IMAGE_LENGTH_MISMATCH: 422,
  IMAGE_DEPENDENCY_UNSATISFIED: 422,
} as const satisfies Record<string, 404 | 409 | 422>;

export type RejectionCode = keyof typeof REJECTION_HTTP_STATUS;
export type RejectionHttpStatus = (typeof REJECTION_HTTP_STATUS)[RejectionCode];

export const REJECTION_CODES = Object.keys(REJECTION_HTTP_STATUS) as RejectionCode[];

export class DomainRejection extends Error {
  readonly httpStatus: RejectionHttpStatus;

  constructor(
    readonly code: RejectionCode,
    message: string,
    readonly details: JsonObject = {},
  ) {
    super(message);
    this.name = 'DomainRejection';
    this.httpStatus = REJECTION_HTTP_STATUS[code];
  }

  /** The reply body for HTTP and MQTT: `{ code, message, details }`. */
  toJSON(): { code: RejectionCode; message: string; details: JsonObject } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function reject(code: RejectionCode, message: string, details: JsonObject = {}): DomainRejection {
  return new DomainRejection(code, message, details);
}

export function isDomainRejection(value: unknown): value is DomainRejection {
  return value instanceof DomainRejection;
}

export function httpStatusForRejection(code: RejectionCode): RejectionHttpStatus {
  return REJECTION_HTTP_STATUS[code];
}
