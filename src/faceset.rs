//! A face set: the aligned face crops of one identity, as `faceswap extract` writes them and `faceswap train`
//! reads them.
//!
//! ```text
//! <dir>/faceset.json        {"version":1,"size":256,"template":{...},"identity":"s1","sources":[...]}
//! <dir>/faces/000001.png    aligned RGB crop, size×size, 8-bit sRGB
//! <dir>/masks/000001.png    landmark-hull mask in the crop, 8-bit grey
//! <dir>/landmarks/000001.json  the 468 landmarks in crop pixels and where the face came from
//! ```

use crate::pipeline::align::FaceTemplate;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const FACESET_VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum FaceSetError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a face set: {why}")]
    Invalid { path: PathBuf, why: String },
    #[error("{path}: {source}")]
    Image { path: PathBuf, source: image::ImageError },
}

/// The face set's description file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceSetInfo {
    pub version: u32,
    /// Crop side in pixels.
    pub size: usize,
    pub template: FaceTemplate,
    /// Identity name (defaults to the folder name).
    pub identity: String,
    /// Footage the faces were extracted from.
    pub sources: Vec<String>,
}

/// Where one face came from, stored beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceRecord {
    pub source: String,
    pub frame: u64,
    /// 468 × (x, y) in crop pixels.
    pub landmarks: Vec<[f32; 2]>,
}

/// One face of a set, loaded: RGB in [0, 1] interleaved, mask in [0, 1], landmarks in pixels of the loaded
/// size (empty when the set has no landmark file for the face).
#[derive(Clone, Debug)]
pub struct FaceSample {
    pub rgb: Vec<f32>,
    pub mask: Vec<f32>,
    pub landmarks: Vec<[f32; 2]>,
}

pub struct FaceSet {
    pub dir: PathBuf,
    pub info: FaceSetInfo,
    /// File stems ("000001") in order.
    pub items: Vec<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FaceSetError + '_ {
    move |source| FaceSetError::Io { path: path.to_owned(), source }
}

impl FaceSet {
    /// Creates (or reuses) a face set folder for writing.
    pub fn create(dir: &Path, info: FaceSetInfo) -> Result<FaceSet, FaceSetError> {
        for sub in ["faces", "masks", "landmarks"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io(dir))?;
        }
        let json = serde_json::to_string_pretty(&info).map_err(|e| FaceSetError::Invalid { path: dir.to_owned(), why: e.to_string() })?;
        std::fs::write(dir.join("faceset.json"), json).map_err(io(dir))?;
        Ok(FaceSet { dir: dir.to_owned(), info, items: Vec::new() })
    }

    /// Opens a face set and lists its faces.
    pub fn open(dir: &Path) -> Result<FaceSet, FaceSetError> {
        let info_path = dir.join("faceset.json");
        let text = std::fs::read_to_string(&info_path).map_err(io(&info_path))?;
        let info: FaceSetInfo =
            serde_json::from_str(&text).map_err(|e| FaceSetError::Invalid { path: info_path.clone(), why: e.to_string() })?;
        if info.version != FACESET_VERSION {
            return Err(FaceSetError::Invalid { path: info_path, why: format!("version {} (this build reads {FACESET_VERSION})", info.version) });
        }
        let faces = dir.join("faces");
        let mut items: Vec<String> = std::fs::read_dir(&faces)
            .map_err(io(&faces))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.path().file_stem().and_then(|s| s.to_str()).map(str::to_owned))
            .filter(|stem| dir.join("masks").join(format!("{stem}.png")).is_file())
            .collect();
        items.sort();
        if items.is_empty() {
            return Err(FaceSetError::Invalid { path: dir.to_owned(), why: "no faces (faces/*.png with masks/*.png)".into() });
        }
        Ok(FaceSet { dir: dir.to_owned(), info, items })
    }

    /// Writes one face: crop RGB interleaved in [0, 1], mask in [0, 1].
    pub fn write(&mut self, stem: &str, rgb: &[f32], mask: &[f32], record: &FaceRecord) -> Result<(), FaceSetError> {
        let n = self.info.size as u32;
        let to8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        let face = image::RgbImage::from_raw(n, n, rgb.iter().map(|&v| to8(v)).collect())
            .ok_or_else(|| FaceSetError::Invalid { path: self.dir.clone(), why: "crop has the wrong size".into() })?;
        let m = image::GrayImage::from_raw(n, n, mask.iter().map(|&v| to8(v)).collect())
            .ok_or_else(|| FaceSetError::Invalid { path: self.dir.clone(), why: "mask has the wrong size".into() })?;
        let fp = self.dir.join("faces").join(format!("{stem}.png"));
        face.save(&fp).map_err(|source| FaceSetError::Image { path: fp, source })?;
        let mp = self.dir.join("masks").join(format!("{stem}.png"));
        m.save(&mp).map_err(|source| FaceSetError::Image { path: mp, source })?;
        let lp = self.dir.join("landmarks").join(format!("{stem}.json"));
        let json = serde_json::to_string(record).map_err(|e| FaceSetError::Invalid { path: lp.clone(), why: e.to_string() })?;
        std::fs::write(&lp, json).map_err(io(&lp))?;
        self.items.push(stem.to_owned());
        Ok(())
    }

    /// Loads face `i`, resized to `size` (area average when shrinking, bilinear when growing).
    pub fn load(&self, i: usize, size: usize) -> Result<FaceSample, FaceSetError> {
        let stem = &self.items[i % self.items.len()];
        let fp = self.dir.join("faces").join(format!("{stem}.png"));
        let mp = self.dir.join("masks").join(format!("{stem}.png"));
        let face = image::open(&fp).map_err(|source| FaceSetError::Image { path: fp, source })?.to_rgb32f();
        let mask = image::open(&mp).map_err(|source| FaceSetError::Image { path: mp, source })?.to_luma32f();
        let filter = image::imageops::FilterType::Triangle;
        let (s, n) = (size as u32, face.width());
        let face = if n == s { face } else { image::imageops::resize(&face, s, s, filter) };
        let mask = if mask.width() == s { mask } else { image::imageops::resize(&mask, s, s, filter) };
        let lp = self.dir.join("landmarks").join(format!("{stem}.json"));
        let landmarks = match std::fs::read(&lp) {
            Ok(bytes) => {
                let record: FaceRecord = serde_json::from_slice(&bytes).map_err(|e| FaceSetError::Invalid { path: lp.clone(), why: e.to_string() })?;
                let k = size as f32 / self.info.size as f32;
                record.landmarks.iter().map(|p| [p[0] * k, p[1] * k]).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&lp)(e)),
        };
        Ok(FaceSample { rgb: face.into_raw(), mask: mask.into_raw(), landmarks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_open_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let info = FaceSetInfo { version: 1, size: 8, template: FaceTemplate::default(), identity: "x".into(), sources: vec![] };
        let mut set = FaceSet::create(dir.path(), info.clone()).unwrap();
        let rgb: Vec<f32> = (0..8 * 8 * 3).map(|i| (i % 255) as f32 / 255.0).collect();
        let mask = vec![1.0; 64];
        set.write("000001", &rgb, &mask, &FaceRecord { source: "a.png".into(), frame: 0, landmarks: vec![[2.0, 6.0]] }).unwrap();
        let set = FaceSet::open(dir.path()).unwrap();
        assert_eq!(set.info, info);
        assert_eq!(set.items, ["000001"]);
        let s = set.load(0, 8).unwrap();
        assert!(s.rgb.iter().zip(&rgb).all(|(a, b)| (a - b).abs() < 1.0 / 255.0));
        assert_eq!(s.landmarks, [[2.0, 6.0]]);
        let half = set.load(0, 4).unwrap();
        assert_eq!((half.mask.len(), half.landmarks), (16, vec![[1.0, 3.0]]));
        assert!(FaceSet::open(&dir.path().join("nope")).is_err());
    }
}
