// Publish/subscribe messages between apps and devices. Subscribed messages arrive at the app's
// exported `on_message(subscription, length)`; read them with msg.read/readText during that call.
import { msg_publish, msg_read, msg_subscribe, msg_topic, msg_unsubscribe } from "./generated/msg";
import { DATA_CAP, NAME_CAP, dataBuf, nameBuf } from "./internal/scratch";
import { encodeInto } from "./internal/utf8";
import { Text, TEXT_CAP } from "./text";

export namespace msg {
  /** Publishes `data` (a string, Text, Uint8Array or ArrayBuffer) on `topic`. */
  export function publish<T>(topic: string, data: T): i32 {
    const topicLen = encodeInto(topic, nameBuf, NAME_CAP);
    if (isString<T>()) {
      const n = encodeInto(changetype<string>(data), dataBuf, DATA_CAP);
      return msg_publish(nameBuf, topicLen, dataBuf, n);
    } else if (data instanceof Text) {
      const t = changetype<Text>(data);
      return msg_publish(nameBuf, topicLen, t.ptr, t.length);
    } else if (data instanceof Uint8Array) {
      const a = changetype<Uint8Array>(data);
      return msg_publish(nameBuf, topicLen, a.dataStart, a.length);
    } else if (data instanceof ArrayBuffer) {
      const b = changetype<ArrayBuffer>(data);
      return msg_publish(nameBuf, topicLen, changetype<usize>(b), b.byteLength);
    } else {
      ERROR("msg.publish data is a string, Text, Uint8Array or ArrayBuffer");
      return 0;
    }
  }

  /** Subscribes to `topic` (exact, or a prefix ending in "/#"); returns the subscription handle. */
  export function subscribe(topic: string): i32 {
    return msg_subscribe(nameBuf, encodeInto(topic, nameBuf, NAME_CAP));
  }

  export function unsubscribe(subscription: i32): i32 {
    return msg_unsubscribe(subscription);
  }

  /** During on_message: copies the payload into `out`; returns its length or ENOSPC. */
  export function read(out: Uint8Array): i32 {
    return msg_read(out.dataStart, out.length);
  }

  /** During on_message: the payload as the shared Text line (empty if it does not fit). */
  export function readText(): Text {
    const t = Text.begin();
    return t.setLength(msg_read(t.ptr, TEXT_CAP));
  }

  /** During on_message: copies the topic into `out`; returns its length. */
  export function topic(out: Uint8Array): i32 {
    return msg_topic(out.dataStart, out.length);
  }
}
