import { commandName, statusName } from "./constants.js";

/** The device answered with an error status; `message` is the device's own text. */
export class DeviceError extends Error {
  constructor(
    readonly command: number,
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${commandName(command)} failed: ${statusName(status)}${detail ? `: ${detail}` : ""}`);
  }
  get statusName(): string {
    return statusName(this.status);
  }
}

/** No valid response arrived in time, even after the retries. */
export class DeviceTimeoutError extends Error {}

/** The device answered something this client cannot decode. */
export class ProtocolError extends Error {}
