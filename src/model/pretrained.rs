//! The pretrained face-analysis networks (BlazeFace + FaceMesh), loaded once per device and process.

use super::blazeface::{BlazeFace, BlazeFaceConfig};
use super::facemesh::{FaceMesh, FaceMeshConfig};
use super::weights::{self, WeightsError};
use burn::tensor::Device;
use std::path::{Path, PathBuf};

/// File names inside a models folder.
pub const BLAZEFACE_FILE: &str = "blazeface_short_range.safetensors";
pub const FACEMESH_FILE: &str = "face_landmark.safetensors";

/// Detector and landmark networks on one device.
#[derive(Debug, Clone)]
pub struct FaceNets {
    pub detector: BlazeFace,
    pub landmarks: FaceMesh,
    pub device: Device,
}

impl FaceNets {
    /// Loads both networks from `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<FaceNets, WeightsError> {
        let detector = weights::load_into(BlazeFaceConfig::new().init(device), &dir.join(BLAZEFACE_FILE))?;
        let landmarks = weights::load_into(FaceMeshConfig::new().init(device), &dir.join(FACEMESH_FILE))?;
        Ok(FaceNets { detector, landmarks, device: device.clone() })
    }
}

/// The models folder of this source tree (tests, CLI runs from a checkout).
pub fn repo_models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fixture;
    use burn::tensor::{Tensor, TensorData};

    fn input(file: &str, side: usize, device: &Device) -> Tensor<4> {
        let data = fixture::tensor(file, "input");
        Tensor::<4>::from_data(TensorData::new(data, [1, 3, side, side]), device)
    }

    fn read(t: Tensor<2>) -> Vec<f32> {
        t.try_into_data().expect("readback").try_into_vec::<f32>().expect("f32")
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    /// Both networks against onnxruntime on every real-frame fixture. Tolerances: 1e-3 on logits and raw
    /// regressor values (two float32 runtimes, onnxruntime and TFLite, already differ by 1.5e-4 here), 0.5 px
    /// on landmarks (the bar; float32 noise is ~1e-4 px).
    fn check_parity(device: &Device, label: &str) {
        let nets = FaceNets::load(&repo_models_dir(), device).expect("weights load");
        for name in fixture::DETECTOR_FIXTURES {
            let file = format!("{name}_blazeface");
            let out = nets.detector.forward(input(&file, 128, device));
            let [b, n, v] = out.regressors.dims();
            let reg = read(out.regressors.reshape([b, n * v]));
            let logits = read(out.logits);
            let d_reg = max_diff(&reg, &fixture::tensor(&file, "regressors"));
            let d_cls = max_diff(&logits, &fixture::tensor(&file, "classificators"));
            assert!(d_reg < 1e-3 && d_cls < 1e-3, "{label} {name}: BlazeFace regressors {d_reg}, logits {d_cls}");

            let file = format!("{name}_facemesh");
            let out = nets.landmarks.forward(input(&file, 192, device));
            let d_lm = max_diff(&read(out.landmarks), &fixture::tensor(&file, "landmarks"));
            let d_p = max_diff(&read(out.presence), &fixture::tensor(&file, "presence_logit"));
            assert!(d_lm < 0.5 && d_p < 1e-3, "{label} {name}: FaceMesh landmarks {d_lm} px, presence {d_p}");
            eprintln!("{label} {name}: regressors {d_reg:.2e} logits {d_cls:.2e} landmarks {d_lm:.2e} px presence {d_p:.2e}");
        }
    }

    #[test]
    fn parity_with_onnxruntime_on_cpu() {
        check_parity(&crate::device::cpu(), "flex");
    }

    /// The GPU code path, on Mesa lavapipe (software Vulkan; CI installs mesa-vulkan-drivers).
    #[test]
    fn parity_with_onnxruntime_on_wgpu() {
        match crate::device::software_gpu().or_else(|_| crate::device::gpu()) {
            Ok(device) => check_parity(&device, "wgpu"),
            Err(e) => panic!("no wgpu adapter at all ({e}); install mesa-vulkan-drivers (scripts/setup.sh)"),
        }
        assert!(crate::device::take_gpu_errors().is_empty());
    }

    #[test]
    fn wrong_or_missing_weights_are_errors() {
        let device = crate::device::cpu();
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(FaceNets::load(dir.path(), &device), Err(WeightsError::Io { .. })));
        // The landmark file where the detector's should be: a file for another network.
        std::fs::copy(repo_models_dir().join(FACEMESH_FILE), dir.path().join(BLAZEFACE_FILE)).unwrap();
        assert!(matches!(FaceNets::load(dir.path(), &device), Err(WeightsError::Mismatch { .. })));
        std::fs::write(dir.path().join(BLAZEFACE_FILE), b"not a safetensors file").unwrap();
        assert!(matches!(FaceNets::load(dir.path(), &device), Err(WeightsError::Mismatch { .. })));
    }
}
