import { Status } from "../../../compiler/src/protocol/constants.js";

/** A request the device refuses: becomes a response with this status and message. */
export class DeviceFault extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const fault = {
  badRequest: (m: string) => new DeviceFault(Status.EBADREQ, m),
  notFound: (name: string) => new DeviceFault(Status.ENOTFOUND, `no app named '${name}'`),
  exists: (m: string) => new DeviceFault(Status.EEXISTS, m),
  noSpace: (m: string) => new DeviceFault(Status.ENOSPACE, m),
  hash: (m: string) => new DeviceFault(Status.EHASH, m),
  invalid: (m: string) => new DeviceFault(Status.EINVALID, m),
  range: (m: string) => new DeviceFault(Status.ERANGE, m),
  busy: (m: string) => new DeviceFault(Status.EBUSY, m),
  internal: (m: string) => new DeviceFault(Status.EINTERNAL, m),
  unknown: (m: string) => new DeviceFault(Status.EUNKNOWN, m),
};
