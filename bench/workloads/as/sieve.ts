// AssemblyScript twin of bench/workloads/sieve.c: primes up to 1,000,000, n times.
const LIMIT: i32 = 1000000;
const composite: usize = memory.data(LIMIT + 1);

export function run(n: i32): i32 {
  let count = 0;
  for (let pass = 0; pass < n; pass++) {
    memory.fill(composite, 0, LIMIT + 1);
    count = 0;
    for (let i = 2; i <= LIMIT; i++) {
      if (load<u8>(composite + <usize>i)) continue;
      count++;
      for (let j = i + i; j <= LIMIT; j += i) store<u8>(composite + <usize>j, 1);
    }
  }
  return count;
}
