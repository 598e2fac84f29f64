//! The swap network against its ONNX export run by onnxruntime (issue #6): the default model on a real aligned
//! crop (Tears of Steel frame 100), both identities. `scripts/bench_onnxruntime.py --write-fixture` wrote the
//! crop and onnxruntime's outputs into tests/fixtures/swapnet/default_tos_0100.safetensors; the same script
//! checks its export against them on every run, so together the two show the export is our network.

use burn::tensor::{Tensor, TensorData};
use faceswap_ofx::model::pretrained::repo_models_dir;
use faceswap_ofx::model::swap_model::SwapModel;
use std::path::PathBuf;

/// Largest |ours − onnxruntime| on RGB and mask (after the sigmoid, in [0, 1]). Both sides run float32 with
/// different convolution algorithms, so sums are rounded in a different order: 5.4e-7 on this crop
/// (2026-12-05, about 9 float32 steps at 0.5). 1e-5 leaves a factor of 20 for other CPUs and thread counts,
/// while a wrong padding, slope or decoder index moves outputs by 0.1 or more. The same figure as the Python
/// side's PARITY_TOLERANCE.
const TOLERANCE: f32 = 1e-5;

#[test]
fn default_model_matches_onnxruntime_on_a_real_crop() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/swapnet/default_tos_0100.safetensors");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tensor = |name: &str| -> (Vec<f32>, Vec<usize>) {
        let view = st.tensor(name).unwrap_or_else(|e| panic!("{} tensor {name}: {e}", path.display()));
        (view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(), view.shape().to_vec())
    };
    let device = faceswap_ofx::device::cpu();
    let model = SwapModel::load(&repo_models_dir().join("default.safetensors"), &device).expect("models/default.safetensors");
    let (input, shape) = tensor("input");
    let shape: [usize; 4] = shape.try_into().expect("input is [1, 3, R, R]");
    assert_eq!(shape[2], model.config.resolution, "the fixture was written for another model: rewrite it");
    for identity in 0..model.identities.len() {
        let out = model.net.forward(Tensor::<4>::from_data(TensorData::new(input.clone(), shape), &device), identity);
        let mut worst = 0.0f32;
        for (ours, name) in [(out.rgb, "rgb"), (out.mask, "mask")] {
            let ours: Vec<f32> = ours.try_into_data().expect("readback").try_into_vec().expect("f32 output");
            let (theirs, _) = tensor(&format!("{name}_{identity}"));
            assert_eq!(ours.len(), theirs.len(), "{name}_{identity}");
            worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
        }
        eprintln!("swap network identity {identity} ({}): ours vs onnxruntime max |diff| {worst:.3e}", model.identities[identity]);
        assert!(worst <= TOLERANCE, "identity {identity}: max |diff| {worst:.3e} above {TOLERANCE:.0e}");
    }
}
