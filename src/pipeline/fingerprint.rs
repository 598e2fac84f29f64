//! A frame's content hash: what the analysis cache ([`super::recent`]) keys frames by.
//!
//! 128 bits over the frame's size and every value's bit pattern, row by row: each row is hashed on its own
//! ([`row`]) and the rows' hashes are folded in order ([`combine`]). Rows make it computable where the frame
//! is made: the node hashes each row right after converting it from the host's image, while the row is still
//! in cache, instead of reading the whole frame again later (a 4K float frame is 133 MB: 12 ms for a separate
//! pass on this machine's two cores, and a render with the default smoothing reads five frames).
//!
//! Not cryptographic: frames are not adversarial, and an accidental collision between two frames of the same
//! size is vanishingly unlikely.

/// The hash of a `width × height` frame whose rows hash to `rows` (top to bottom).
pub fn combine(width: usize, height: usize, rows: impl IntoIterator<Item = [u64; 2]>) -> [u64; 2] {
    let [mut a, mut b] = [0x4528_21E6_38D0_1377u64, 0xBE54_66CF_34E9_0C6Cu64];
    for [x, y] in rows {
        [a, b] = mix([a, b], x);
        [a, b] = mix([a, b], y);
    }
    let (w, h) = (width as u64, height as u64);
    [(a ^ w).wrapping_mul(K2), (b ^ h.rotate_left(32)).wrapping_mul(K1)]
}

/// The hash of a `width × height` RGBA frame's values (rows of `4 · width`), rows hashed in parallel (the result
/// does not depend on the thread count).
pub fn of_frame(width: usize, height: usize, values: &[f32]) -> [u64; 2] {
    use rayon::prelude::*;
    let rows: Vec<[u64; 2]> = values.par_chunks((width * 4).max(1)).map(row).collect();
    combine(width, height, rows)
}

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;

fn mix([a, b]: [u64; 2], w: u64) -> [u64; 2] {
    let a = (a ^ w).wrapping_mul(K1).rotate_left(29);
    [a, (b.wrapping_add(w)).wrapping_mul(K2).rotate_left(31) ^ a]
}

/// One row's two hashes (an odd length marks its last word). The row's words go in pairs, round-robin, to
/// [`LANES`] independent lanes folded in order at the end. A lane folds a pair with one 64×64 → 128-bit
/// multiply (`mum`) into its first hash and adds it, rotated, into the second. (A zero factor would drop the
/// lane's history: it takes a word equal to the lane's running hash, about 2⁻⁶⁴ a word.) [`mix`] (two
/// multiplies per word, one dependent chain) took 15 ms for a 4K frame on this machine's two cores even with
/// eight lanes, more than detection grows from 1080p to 4K (BENCHMARKS.md, flatness).
pub fn row(values: &[f32]) -> [u64; 2] {
    let word = |pair: &[f32]| (pair[0].to_bits() as u64) | ((pair[1].to_bits() as u64) << 32);
    let mut lanes: [[u64; 2]; LANES] = std::array::from_fn(|j| [0x243F_6A88_85A3_08D3u64 ^ j as u64, 0x1319_8A2E_0370_7344u64]);
    let mut blocks = values.chunks_exact(4 * LANES);
    for block in &mut blocks {
        for (lane, quad) in lanes.iter_mut().zip(block.chunks_exact(4)) {
            let (w1, w2) = (word(&quad[..2]), word(&quad[2..]));
            *lane = [mum(lane[0] ^ w1, w2 ^ K1), (lane[1] ^ w2).rotate_left(27).wrapping_add(w1)];
        }
    }
    let mut h = lanes[0];
    for lane in &lanes[1..] {
        h = mix(mix(h, lane[0]), lane[1]);
    }
    let mut words = blocks.remainder().chunks_exact(2);
    for pair in &mut words {
        h = mix(h, word(pair));
    }
    if let [last] = words.remainder() {
        h = mix(h, last.to_bits() as u64 | (1 << 63));
    }
    mix(h, values.len() as u64)
}

/// The 128-bit product's halves, xored: every bit of either factor reaches the result.
fn mum(a: u64, b: u64) -> u64 {
    let p = a as u128 * b as u128;
    p as u64 ^ (p >> 64) as u64
}

/// Independent lanes per row in [`row`].
const LANES: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(values: &[f32], row_len: usize) -> [u64; 2] {
        of_frame(row_len / 4, values.len() / row_len, values)
    }

    #[test]
    fn hash_sees_every_value_order_and_size() {
        let base: Vec<f32> = (0..1000).map(|i| i as f32 * 0.001).collect();
        let h = hash(&base, 100);
        assert_eq!(hash(&base.clone(), 100), h);
        for i in [0, 1, 99, 100, 500, 999] {
            let mut changed = base.clone();
            changed[i] = f32::from_bits(changed[i].to_bits() ^ 1);
            assert_ne!(hash(&changed, 100), h, "a one-bit change at {i} went unseen");
        }
        // The same values as other sizes: 25 × 10 vs 50 × 5.
        assert_ne!(hash(&base, 200), h);
        // Swapping two neighbouring values, two words that go to different lanes, or two whole rows.
        for (i, j) in [(10, 11), (0, 2), (1, 3)] {
            let mut swapped = base.clone();
            swapped.swap(i, j);
            assert_ne!(hash(&swapped, 100), h, "swapping {i} and {j} went unseen");
        }
        let mut rows = base.clone();
        rows[..200].rotate_left(100);
        assert_ne!(hash(&rows, 100), h);
        // -0.0 and 0.0 are different frames bit for bit; the analysis may not care, the cache does not guess.
        assert_ne!(row(&[0.0, 1.0]), row(&[-0.0, 1.0]));
        // A row's length is part of its hash (an odd trailing value, or a trailing zero word).
        assert_ne!(row(&[0.0; 3]), row(&[0.0; 2]));
        assert_ne!(row(&[0.0; 4]), row(&[0.0; 2]));
    }

    /// Rows hashed one at a time and folded give the parallel pass's value.
    #[test]
    fn rows_one_at_a_time_give_the_same_hash() {
        let values: Vec<f32> = (0..37 * 4 * 11).map(|i| (i as f32).sin()).collect();
        let serial = combine(37, 11, values.chunks(37 * 4).map(row));
        assert_eq!(serial, of_frame(37, 11, &values));
    }
}
