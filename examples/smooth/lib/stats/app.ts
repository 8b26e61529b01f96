// stats: a shared-everything library (`liquid build examples/smooth/lib/stats --library --shared`).
// It works on the importing app's i32 samples in place (a pointer and a count) and allocates
// its results with the app's allocator, so they are the app's to keep: nothing is copied
// between two memories, unlike an isolated library (docs/linking.md).

const VERSION = "stats 1.0.0";

/** A new StaticArray<i32> [min, max, median] of the `len` i32 values at `ptr`. */
export function summary(ptr: i32, len: i32): i32 {
  const sorted = new StaticArray<i32>(len);
  for (let i = 0; i < len; i++) {
    // insertion sort into the copy: len is small, and the app's samples stay as they are
    const v = load<i32>(<usize>(ptr + i * 4));
    let j = i;
    while (j > 0 && sorted[j - 1] > v) {
      sorted[j] = sorted[j - 1];
      j--;
    }
    sorted[j] = v;
  }
  const out = new StaticArray<i32>(3);
  if (len > 0) {
    out[0] = sorted[0];
    out[1] = sorted[len - 1];
    out[2] = len % 2 ? sorted[len / 2] : (sorted[len / 2 - 1] + sorted[len / 2]) / 2;
  }
  return <i32>changetype<usize>(out);
}

/** Which build answered, as a string in the library's static data (relocated into the app's memory). */
export function label(a: i32, b: i32): i32 {
  return <i32>changetype<usize>(VERSION);
}
