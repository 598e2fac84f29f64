//! Helpers shared by unit tests: reading the parity fixtures in tests/fixtures, comparing tensors.

pub mod fixture {
    use std::path::PathBuf;

    /// Fixture names with both detector and FaceMesh files.
    pub const DETECTOR_FIXTURES: [&str; 5] = ["tos_0095", "tos_0140", "grid_s1_bbaf2n_0030", "astronaut", "tos_0010_noface"];

    pub fn path(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face_analysis").join(format!("{name}.safetensors"))
    }

    /// One float32 tensor of a fixture file, flattened. Panics with the file and tensor name: test-only.
    pub fn tensor(file: &str, tensor: &str) -> Vec<f32> {
        let bytes = std::fs::read(path(file)).unwrap_or_else(|e| panic!("fixture {file}: {e}"));
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("fixture {file}: {e}"));
        let view = st.tensor(tensor).unwrap_or_else(|e| panic!("fixture {file} tensor {tensor}: {e}"));
        view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }
}

/// Asserts that `got` and `want` have the same shape and the same bits, and are not all zeros (a kernel that
/// wrote nothing would otherwise match a path that did the same).
pub fn assert_same_bits(got: burn::tensor::Tensor<4>, want: burn::tensor::Tensor<4>, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shapes");
    let got: Vec<f32> = got.try_into_data().unwrap().try_into_vec().unwrap();
    let want: Vec<f32> = want.try_into_data().unwrap().try_into_vec().unwrap();
    assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{what}: values differ");
    assert!(got.iter().any(|&v| v != 0.0), "{what}: all zeros");
}
