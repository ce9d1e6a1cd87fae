import {
  DomainRejection,
  REJECTION_CODES,
  REJECTION_HTTP_STATUS,
  httpStatusForRejection,
  isDomainRejection,
  reject,
} from './rejection';

describe('DomainRejection', () => {
  it('carries a machine-readable code, its HTTP status and JSON details', () => {
    const rejection = reject('RTVM_NOT_STOPPED', 'StartRtVm needs RTVM RT_VM1 to be stopped', {
      state: 'started',
    });
    expect(rejection).toBeInstanceOf(DomainRejection);
    expect(rejection).toBeInstanceOf(Error);
    expect(isDomainRejection(rejection)).toBe(true);
    expect(isDomainRejection(new Error('x'))).toBe(false);
    expect(rejection.httpStatus).toBe(409);
    expect(JSON.parse(JSON.stringify(rejection))).toEqual({
      code: 'RTVM_NOT_STOPPED',
      message: 'StartRtVm needs RTVM RT_VM1 to be stopped',
      details: { state: 'started' },
    });
  });

  it('maps every code to 404 (unknown aggregate), 409 (state conflict) or 422 (invalid input)', () => {
    for (const code of REJECTION_CODES) expect([404, 409, 422]).toContain(httpStatusForRejection(code));
    const byStatus = (status: number) => REJECTION_CODES.filter((c) => REJECTION_HTTP_STATUS[c] === status);
    expect(byStatus(404)).toEqual([
      'DEVICE_NOT_PROVISIONED',
      'PARTITION_PLAN_NOT_FOUND',
      'PARTITION_PLAN_REVISION_NOT_FOUND',
      'SERVICE_VM_NOT_FOUND',
      'RTVM_NOT_REGISTERED',
      'VM_NOT_REGISTERED',
      'RELEASE_NOT_FOUND',
      'RELEASE_IMAGE_NOT_FOUND',
    ]);
    expect(byStatus(422)).toEqual([
      'INVALID_COMMAND',
      'INVALID_BOARD_INVENTORY',
      'INVALID_DEVICE_ATTRIBUTES',
      'DEVICE_ATTRIBUTE_LIMIT_EXCEEDED',
      'INVALID_PARTITION_PLAN',
      'PLAN_DEVICE_CLASS_MISMATCH',
      'PLAN_DOES_NOT_FIT_BOARD',
      'RTVM_FORCE_STOP_UNSUPPORTED',
      'INVALID_RELEASE_VERSION',
      'RELEASE_PLAN_MISMATCH',
      'HYPERVISOR_BOARD_MISMATCH',
      'RTVM_NOT_IN_PLAN',
      'RELEASE_HAS_NO_IMAGES',
      'IMAGE_UPLOAD_MISSING',
      'IMAGE_HASH_MISMATCH',
      'IMAGE_LENGTH_MISMATCH',
      'IMAGE_DEPENDENCY_UNSATISFIED',
    ]);
  });
});
