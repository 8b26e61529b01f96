// Waiting for a device to refuse a request, for the tests of its error answers.
import { DeviceError } from "../../compiler/src/protocol/errors.js";

/** The DeviceError the request ends with; any other outcome (success, another error) fails. */
export async function deviceError(p: Promise<unknown>): Promise<DeviceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DeviceError) return e;
    throw e;
  }
  throw new Error("expected the device to answer with an error");
}
