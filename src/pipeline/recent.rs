//! The face analyses of recently seen frames, shared by the renders of one process.
//!
//! With temporal smoothing a frame also needs the analyses of its 2k neighbours, and the next frame needs almost
//! the same ones: without this, a shot rendered in order analyses every frame 2k + 1 times. An entry is keyed by
//! the frame's content (size and a 128-bit hash of every pixel's bits), the detection settings and the networks
//! that produced it, so a hit returns exactly what analysing the frame again would: renders stay independent of
//! order, and a farm splitting the shot still gets the same images.

use super::analysis::{self, AnalysisError, Face, Search};
use super::frame::Frame;
use crate::model::pretrained::FaceNets;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

/// Enough for the widest smoothing window the node offers (±12 frames) on a few instances at once; an entry is a
/// few kilobytes a face.
const CAPACITY: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Key {
    width: usize,
    height: usize,
    hash: [u64; 2],
    search_bits: [u32; 2],
    /// The address of the networks' shared allocation; the entry holds an `Arc` to it, so the address cannot be
    /// reused by other networks while the entry lives.
    nets: usize,
}

struct Entry {
    key: Key,
    _nets: Arc<FaceNets>,
    faces: Arc<Vec<Face>>,
}

static RECENT: Mutex<VecDeque<Entry>> = Mutex::new(VecDeque::new());

/// `analysis::analyse`, or its result for the same frame from an earlier call in this process. Failures are not
/// kept: the next call tries again.
pub fn analyse(nets: &Arc<FaceNets>, frame: &Frame, search: Search) -> Result<Arc<Vec<Face>>, AnalysisError> {
    let key = Key {
        width: frame.width(),
        height: frame.height(),
        hash: content_hash(frame.data()),
        search_bits: [search.threshold.to_bits(), search.smallest_face.to_bits()],
        nets: Arc::as_ptr(nets) as usize,
    };
    {
        let mut recent = RECENT.lock();
        if let Some(at) = recent.iter().position(|e| e.key == key) {
            // Most recently used at the back.
            let entry = recent.remove(at).expect("position came from this deque");
            let faces = entry.faces.clone();
            recent.push_back(entry);
            return Ok(faces);
        }
    }
    // Outside the lock: other render threads keep going while this frame is analysed. Two threads missing on the
    // same frame both analyse it; the first stored result is kept.
    let faces = Arc::new(analysis::analyse(nets, frame, search)?);
    let mut recent = RECENT.lock();
    if let Some(stored) = recent.iter().find(|e| e.key == key) {
        return Ok(stored.faces.clone());
    }
    if recent.len() >= CAPACITY {
        recent.pop_front();
    }
    recent.push_back(Entry { key, _nets: nets.clone(), faces: faces.clone() });
    Ok(faces)
}

/// Drops every stored analysis: for benchmarks that time a shot from a cold start, and for hosts' memory
/// pressure if ever needed. Renders are unaffected apart from their speed.
pub fn forget_all() {
    RECENT.lock().clear();
}

/// A 128-bit hash of the values' bit patterns: per lane a multiply hash and a rotate-add sum of the words (see
/// [`hash_run`]), folded through [`mix`]'s two multiply-rotate chains. Not cryptographic: frames are not
/// adversarial, and an accidental collision between two frames of the same size is vanishingly unlikely. The
/// values are cut into [`HASH_PARTS`] runs hashed in parallel and combined in order (the cut depends only on the
/// length, so the hash does not depend on the thread count): a 4K float RGBA frame is 133 MB.
fn content_hash(values: &[f32]) -> [u64; 2] {
    use rayon::prelude::*;
    let part = values.len().div_ceil(HASH_PARTS).max(2).next_multiple_of(2);
    let parts: Vec<[u64; 2]> = values.par_chunks(part).map(hash_run).collect();
    let [mut a, mut b] = [0x4528_21E6_38D0_1377u64, 0xBE54_66CF_34E9_0C6Cu64];
    for [x, y] in parts {
        [a, b] = mix([a, b], x);
        [a, b] = mix([a, b], y);
    }
    let n = values.len() as u64;
    [(a ^ n).wrapping_mul(K2), (b ^ n.rotate_left(32)).wrapping_mul(K1)]
}

/// Runs a frame's values are cut into for [`content_hash`].
const HASH_PARTS: usize = 16;
const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;

fn mix([a, b]: [u64; 2], w: u64) -> [u64; 2] {
    let a = (a ^ w).wrapping_mul(K1).rotate_left(29);
    [a, (b.wrapping_add(w)).wrapping_mul(K2).rotate_left(31) ^ a]
}

/// One run's two hashes (an odd length marks its last word). The run's words go in pairs, round-robin, to
/// [`LANES`] independent lanes folded in order at the end. A lane folds a pair with one 64×64 → 128-bit
/// multiply (`mum`) into its first hash and adds it, rotated, into the second. (A zero factor would drop the
/// lane's history: it takes a word equal to the lane's running hash, about 2⁻⁶⁴ a word.) [`mix`] (two
/// multiplies per word, one dependent chain) took 15 ms for a 4K frame on this machine's two cores even with
/// eight lanes, more than detection grows from 1080p to 4K (BENCHMARKS.md, flatness).
fn hash_run(values: &[f32]) -> [u64; 2] {
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
    h
}

/// The 128-bit product's halves, xored: every bit of either factor reaches the result.
fn mum(a: u64, b: u64) -> u64 {
    let p = a as u128 * b as u128;
    p as u64 ^ (p >> 64) as u64
}

/// Independent lanes per run in [`hash_run`].
const LANES: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sees_every_value_and_the_length() {
        let base: Vec<f32> = (0..1001).map(|i| i as f32 * 0.001).collect();
        let h = content_hash(&base);
        assert_eq!(content_hash(&base.clone()), h);
        for i in [0, 1, 500, 999, 1000] {
            let mut changed = base.clone();
            changed[i] = f32::from_bits(changed[i].to_bits() ^ 1);
            assert_ne!(content_hash(&changed), h, "a one-bit change at {i} went unseen");
        }
        assert_ne!(content_hash(&base[..1000]), h);
        // Swapping two values changes the hash (order matters).
        let mut swapped = base.clone();
        swapped.swap(10, 11);
        assert_ne!(content_hash(&swapped), h);
        // So does swapping two words that go to different lanes of a run.
        let mut swapped = base.clone();
        swapped.swap(0, 2);
        swapped.swap(1, 3);
        assert_ne!(content_hash(&swapped), h);
        // -0.0 and 0.0 are different frames bit for bit; the analysis may not care, the cache does not guess.
        assert_ne!(content_hash(&[0.0, 1.0]), content_hash(&[-0.0, 1.0]));
    }

    /// A hit returns what a fresh analysis returns, for the frame it was stored under only.
    #[test]
    fn hits_equal_fresh_analyses_of_the_same_frame() {
        let nets = crate::model::cache::face_nets(&crate::model::cache::models_dir(), &crate::device::cpu()).unwrap();
        let img = image::open(crate::footage::require("astronaut.png")).unwrap().to_rgba32f();
        let frame = Frame::from_rgba(img.width() as usize, img.height() as usize, img.into_raw()).unwrap();
        let fresh = analysis::analyse(&nets, &frame, Search::default()).unwrap();
        assert!(!fresh.is_empty());
        let first = analyse(&nets, &frame, Search::default()).unwrap();
        let second = analyse(&nets, &frame, Search::default()).unwrap();
        assert_eq!(*first, fresh);
        assert!(Arc::ptr_eq(&first, &second), "the second call must be served from the cache");
        // Another frame of the same size, or other detection settings, are not served the stored faces.
        let blank = Frame::filled(frame.width(), frame.height(), [0.5, 0.5, 0.5, 1.0]);
        assert!(analyse(&nets, &blank, Search::default()).unwrap().is_empty());
        let strict_search = Search { threshold: 0.999, ..Search::default() };
        let strict = analyse(&nets, &frame, strict_search).unwrap();
        assert!(!Arc::ptr_eq(&strict, &first));
        assert_eq!(*strict, analysis::analyse(&nets, &frame, strict_search).unwrap());
    }
}
