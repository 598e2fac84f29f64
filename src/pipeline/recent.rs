//! The face analyses of recently seen frames, shared by the renders of one process.
//!
//! With temporal smoothing a frame also needs the analyses of its 2k neighbours, and the next frame needs almost
//! the same ones: without this, a shot rendered in order analyses every frame 2k + 1 times. An entry is keyed by
//! the frame's content (size and a 128-bit hash of every pixel's bits, [`Frame::content_hash`]), the detection
//! settings and the networks that produced it, so a hit returns exactly what analysing the frame again would:
//! renders stay independent of order, and a farm splitting the shot still gets the same images.

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
        hash: frame.content_hash(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
