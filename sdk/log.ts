// The device log. Messages are a string or a Text line; both are sent as UTF-8 without
// allocating.
import { log_write } from "./generated/log";
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN } from "./generated/constants";
import { DATA_CAP, dataBuf } from "./internal/scratch";
import { encodeInto } from "./internal/utf8";
import { Text } from "./text";

export namespace log {
  /** Writes `message` (a string or a Text) at `level` (LOG_DEBUG..LOG_ERROR). */
  export function write<T>(level: i32, message: T): void {
    if (isString<T>()) {
      const s = changetype<string>(message);
      log_write(level, dataBuf, encodeInto(s, dataBuf, DATA_CAP));
    } else if (message instanceof Text) {
      const t = changetype<Text>(message);
      log_write(level, t.ptr, t.length);
    } else {
      ERROR("log messages are a string or a Text");
    }
  }

  export function debug<T>(message: T): void {
    write<T>(LOG_DEBUG, message);
  }

  export function info<T>(message: T): void {
    write<T>(LOG_INFO, message);
  }

  export function warn<T>(message: T): void {
    write<T>(LOG_WARN, message);
  }

  export function error<T>(message: T): void {
    write<T>(LOG_ERROR, message);
  }
}
