// TMP105 driver library (build with `liquid build --library`). Apps import it as "tmp105@^1":
//   @external("tmp105@^1", "read_centi") declare function tmp105_read_centi(bus: i32, addr: i32): i32;
// It runs in its own memory (an isolated library) under the importing app's grants: `bus` is
// the app's handle of an I2C bus it opened.
import { i2c_write_read } from "liquid/generated/i2c";

/** Returned when the sensor did not answer (no temperature is this cold). */
const NO_READING: i32 = i32.MIN_VALUE;
const buf = memory.data(4);

/** The temperature in hundredths of a degree Celsius, or NO_READING. */
export function read_centi(bus: i32, addr: i32): i32 {
  store<u8>(buf, 0); // temperature register
  if (i2c_write_read(bus, addr, buf, 1, buf + 1, 2) < 0) return NO_READING;
  const raw = (<i32>load<u8>(buf + 1) << 8) | <i32>load<u8>(buf + 2);
  // 12-bit two's complement, left-justified, 0.0625 C per LSB.
  return ((<i32>(<i16>raw)) >> 4) * 25 / 4;
}

/** Which sensor this driver reads (for logs): 105. */
export function model(): i32 {
  return 105;
}
