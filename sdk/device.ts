// What the device this app runs on offers.
import { device_has, device_info } from "./generated/device";
import { NAME_CAP, nameBuf } from "./internal/scratch";
import { encodeName } from "./internal/utf8";

export namespace device {
  /** True when the device has the named pin, bus or discovered device ("LED2", "I2C0", "tmp105"). */
  export function has(name: string): bool {
    return device_has(nameBuf, encodeName(name, nameBuf, NAME_CAP)) == 1;
  }

  /** Copies the device's capability document (JSON) into `out`; returns its full length. */
  export function info(out: Uint8Array): i32 {
    return device_info(out.dataStart, out.length);
  }
}
