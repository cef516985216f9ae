// The mem functions below must not be compiled into calls to themselves.
#![no_builtins]

// The static (musl) build: musl's malloc takes one lock for all threads and
// maps and unmaps memory on every few calls (2,000 futex and mmap/munmap
// calls in one audit of 50 containers), and musl's memcpy starts `rep movsq`
// for every copy, however short (a fifth of the audit's CPU time). The audit
// (4 threads of API calls, 2 of evaluation) ran 1.7x slower than the glibc
// build; with mimalloc and the memcpy/memmove below it runs as fast
// (docs/speed.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(dockhard::cli::main());
}

/// memcpy and memmove for the static build, replacing musl's (the linker
/// takes these; musl's memmove, which shares musl's memcpy object, is
/// replaced too). Up to 64 bytes: unaligned loads of the whole range, then
/// the stores (overlapping pieces, no loop, any overlap allowed); longer:
/// 16-byte pieces forward, or backward when the destination is above the
/// source within it.
#[cfg_attr(
    not(all(target_env = "musl", target_arch = "x86_64")),
    allow(dead_code)
)]
mod mem {
    use std::ptr::{read_unaligned as ld, write_unaligned as st};

    /// Copies `n` bytes from `s` to `d`; the ranges may overlap when `n <= 64`.
    ///
    /// # Safety
    /// `s` readable and `d` writable for `n` bytes.
    #[inline(always)]
    unsafe fn small(d: *mut u8, s: *const u8, n: usize) {
        unsafe {
            if n >= 32 {
                let (a, b) = (ld(s as *const u128), ld(s.add(16) as *const u128));
                let (c, e) = (
                    ld(s.add(n - 32) as *const u128),
                    ld(s.add(n - 16) as *const u128),
                );
                st(d as *mut u128, a);
                st(d.add(16) as *mut u128, b);
                st(d.add(n - 32) as *mut u128, c);
                st(d.add(n - 16) as *mut u128, e);
            } else if n >= 16 {
                let (a, b) = (ld(s as *const u128), ld(s.add(n - 16) as *const u128));
                st(d as *mut u128, a);
                st(d.add(n - 16) as *mut u128, b);
            } else if n >= 8 {
                let (a, b) = (ld(s as *const u64), ld(s.add(n - 8) as *const u64));
                st(d as *mut u64, a);
                st(d.add(n - 8) as *mut u64, b);
            } else if n >= 4 {
                let (a, b) = (ld(s as *const u32), ld(s.add(n - 4) as *const u32));
                st(d as *mut u32, a);
                st(d.add(n - 4) as *mut u32, b);
            } else if n >= 2 {
                let (a, b) = (ld(s as *const u16), ld(s.add(n - 2) as *const u16));
                st(d as *mut u16, a);
                st(d.add(n - 2) as *mut u16, b);
            } else if n == 1 {
                *d = *s;
            }
        }
    }

    /// # Safety
    /// As memmove(3): `s` readable and `d` writable for `n` bytes.
    pub unsafe fn copy(d: *mut u8, s: *const u8, n: usize) {
        unsafe {
            if n <= 64 {
                small(d, s, n);
            } else if (d as usize).wrapping_sub(s as usize) >= n {
                // Forward: no overlap, or the destination below the source.
                let mut i = 0;
                while n - i > 16 {
                    st(d.add(i) as *mut u128, ld(s.add(i) as *const u128));
                    i += 16;
                }
                small(d.add(i), s.add(i), n - i);
            } else {
                // Backward: the destination above the source, overlapping.
                let mut i = n;
                while i > 16 {
                    i -= 16;
                    st(d.add(i) as *mut u128, ld(s.add(i) as *const u128));
                }
                small(d, s, i);
            }
        }
    }

    /// # Safety
    /// As memcpy(3).
    #[cfg(all(target_env = "musl", target_arch = "x86_64"))]
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        unsafe { copy(d, s, n) };
        d
    }

    /// # Safety
    /// As memmove(3).
    #[cfg(all(target_env = "musl", target_arch = "x86_64"))]
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memmove(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        unsafe { copy(d, s, n) };
        d
    }

    #[cfg(test)]
    mod tests {
        /// Every length up to 300 at every offset pair 0..20 in one buffer
        /// (all overlaps, both directions), against a byte-by-byte model.
        #[test]
        fn copy_matches_memmove_semantics() {
            for n in 0..300usize {
                for so in 0..20usize {
                    for dof in 0..20usize {
                        let mut buf: Vec<u8> = (0..340u32).map(|i| (i * 7 + 3) as u8).collect();
                        let mut want = buf.clone();
                        let tmp: Vec<u8> = want[so..so + n].to_vec();
                        want[dof..dof + n].copy_from_slice(&tmp);
                        let p = buf.as_mut_ptr();
                        unsafe { super::copy(p.add(dof), p.add(so), n) };
                        assert_eq!(buf, want, "n {n} src +{so} dst +{dof}");
                    }
                }
            }
            // Far apart (two buffers), long.
            let src: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
            let mut dst = vec![0u8; 5000];
            unsafe { super::copy(dst.as_mut_ptr(), src.as_ptr(), 5000) };
            assert_eq!(dst, src);
        }
    }
}
