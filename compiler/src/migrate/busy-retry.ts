/**
 * SNAPSHOT answers EBUSY while the app is inside a fuel-sliced call (or runs its
 * on_migrate_out hook); the firmware then holds the app's next event, so asking again finds
 * it between two events once that call returned. A call cannot outlast the runtime's call
 * budget (2 s, then it is aborted), so retrying for a little longer always gets an answer.
 */
import { Status } from "../protocol/constants.js";
import { DeviceError } from "../protocol/errors.js";

export const BUSY_RETRY_MS = 2500;

/** Runs `request` again while it fails with EBUSY, for up to BUSY_RETRY_MS; counts each EBUSY in `onBusy`. */
export async function retryWhileBusy<T>(request: () => Promise<T>, onBusy: () => void = () => {}): Promise<T> {
  const deadline = performance.now() + BUSY_RETRY_MS;
  for (;;) {
    try {
      return await request();
    } catch (err) {
      if (err instanceof DeviceError && err.status === Status.EBUSY && performance.now() < deadline) {
        onBusy();
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      throw err;
    }
  }
}
